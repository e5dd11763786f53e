import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What the receiver counts, for `/metrics` (Prometheus text format, prom-client). The listener,
 * the ingestor and the committer call the `Metrics` methods; `silentMetrics` counts nothing.
 * Each `PromMetrics` has a registry of its own, so that several apps in one process (tests)
 * never share counters.
 */

export interface IngestObservation {
  readonly transport: string;
  readonly outcome: 'stored' | 'duplicate';
  /** The message's kind (bounce, delay, delivery, complaint, autoreply, unknown...). */
  readonly kind: string;
  readonly status: string;
  /** The records written: kind and, for a bounce, hard or soft. */
  readonly records: ReadonlyArray<{ readonly kind: string; readonly type: string | null }>;
  /** Contacts this message made `bounced`. */
  readonly contactsBounced: number;
}

export type SmtpMessageResult = 'accepted' | 'duplicate' | 'refused' | 'deferred';

export interface Metrics {
  /** An SMTP connection was opened. */
  smtpSession(): void;
  /** The final reply to a message (after DATA). */
  smtpMessage(code: number, result: SmtpMessageResult): void;
  /** A recipient refused at RCPT, with the reply code and why. */
  smtpRecipientRefused(code: number, reason: string): void;
  /** A session refused or cut by a limit. */
  smtpLimit(limit: string): void;
  /** A message committed (or found already stored). */
  ingested(observation: IngestObservation): void;
  /** A database commit of `items` messages that took `seconds`; `ok` false when it failed. */
  commit(seconds: number, items: number, ok: boolean): void;
  /** An operator reversed a bounce. */
  contactUnbounced(): void;
  /** An HTTP request was answered. */
  httpRequest(route: string, method: string, status: number): void;
}

export const silentMetrics: Metrics = {
  smtpSession() {},
  smtpMessage() {},
  smtpRecipientRefused() {},
  smtpLimit() {},
  ingested() {},
  commit() {},
  contactUnbounced() {},
  httpRequest() {},
};

/** Read at each scrape: figures that live elsewhere (open sessions, the database). */
export interface MetricSources {
  openSessions?(): number;
  /** Contacts in state `bounced`, and suppressed contacts, now (from the database). */
  contacts?(): Promise<{ bounced: number; suppressed: number }>;
}

export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private sources: MetricSources = {};
  private processMetrics = false;
  private readonly sessions: Counter;
  private readonly messages: Counter;
  private readonly refusedRcpt: Counter;
  private readonly limits: Counter;
  private readonly ingestedMessages: Counter;
  private readonly records: Counter;
  private readonly parseFailures: Counter;
  private readonly parseTimeouts: Counter;
  private readonly duplicates: Counter;
  private readonly bounced: Counter;
  private readonly unbounced: Counter;
  private readonly commitSeconds: Histogram;
  private readonly commitItems: Histogram;
  private readonly commitFailures: Counter;
  private readonly http: Counter;

  constructor() {
    const registers = [this.registry];
    this.sessions = new Counter({ name: 'rebond_smtp_sessions_total', help: 'SMTP connections opened', registers });
    const self = this;
    new Gauge({
      name: 'rebond_smtp_sessions_open',
      help: 'SMTP sessions open now',
      registers,
      collect() {
        this.set(self.sources.openSessions?.() ?? 0);
      },
    });
    this.messages = new Counter({ name: 'rebond_smtp_messages_total', help: 'Messages answered after DATA, by reply code and result (accepted, duplicate, refused, deferred)', labelNames: ['code', 'result'], registers });
    this.refusedRcpt = new Counter({ name: 'rebond_smtp_recipients_refused_total', help: 'Recipients refused at RCPT, by reply code and reason', labelNames: ['code', 'reason'], registers });
    this.limits = new Counter({ name: 'rebond_smtp_limit_total', help: 'SMTP sessions refused or cut by a limit', labelNames: ['limit'], registers });
    this.ingestedMessages = new Counter({ name: 'rebond_messages_total', help: 'Messages stored, by transport (smtp, import), kind and status', labelNames: ['transport', 'kind', 'status'], registers });
    this.duplicates = new Counter({ name: 'rebond_messages_duplicate_total', help: 'Messages delivered again and recognised (counted once)', labelNames: ['transport'], registers });
    this.records = new Counter({ name: 'rebond_bounces_total', help: 'Records stored, by kind (bounce, delay, delivery, complaint) and type (hard, soft; none for other kinds)', labelNames: ['kind', 'type'], registers });
    this.parseFailures = new Counter({ name: 'rebond_parse_failures_total', help: 'Messages stored as unparseable', labelNames: ['transport'], registers });
    this.parseTimeouts = new Counter({ name: 'rebond_parse_timeouts_total', help: 'Messages whose parse went over ingest.parseTimeoutMs (stored raw as parse_timeout)', labelNames: ['transport'], registers });
    this.bounced = new Counter({ name: 'rebond_contacts_bounced_total', help: 'Contacts this process made bounced', registers });
    this.unbounced = new Counter({ name: 'rebond_contacts_unbounced_total', help: 'Bounces reversed by an operator through this process', registers });
    this.commitSeconds = new Histogram({
      name: 'rebond_db_commit_seconds',
      help: 'Duration of a database commit of received messages (one group-commit batch), by result',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.commitItems = new Histogram({ name: 'rebond_db_commit_messages', help: 'Messages per database commit (group-commit batch size)', buckets: [1, 2, 4, 8, 16, 32, 64], registers });
    this.commitFailures = new Counter({ name: 'rebond_db_commit_failures_total', help: 'Database commits that failed (their messages were answered 451 or retried alone)', registers });
    const contacts = async () => this.sources.contacts?.().catch(() => null) ?? null;
    let pending: Promise<{ bounced: number; suppressed: number } | null> | null = null;
    // One query per scrape for both gauges.
    const read = () => (pending ??= contacts().finally(() => setImmediate(() => (pending = null))));
    new Gauge({
      name: 'rebond_contacts_bounced',
      help: 'Contacts in state bounced now (from the database, all receivers)',
      registers,
      async collect() {
        const c = await read();
        if (c) this.set(c.bounced);
      },
    });
    new Gauge({
      name: 'rebond_contacts_suppressed',
      help: 'Contacts with at least one suppression now (from the database, all receivers)',
      registers,
      async collect() {
        const c = await read();
        if (c) this.set(c.suppressed);
      },
    });
    this.http = new Counter({ name: 'rebond_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers });
  }

  /** Where the gauges read their values. */
  setSources(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** Adds Node.js process metrics (memory, CPU, event loop lag); once. */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  smtpSession(): void {
    this.sessions.inc();
  }

  smtpMessage(code: number, result: SmtpMessageResult): void {
    this.messages.inc({ code: String(code), result });
  }

  smtpRecipientRefused(code: number, reason: string): void {
    this.refusedRcpt.inc({ code: String(code), reason });
  }

  smtpLimit(limit: string): void {
    this.limits.inc({ limit });
  }

  ingested(o: IngestObservation): void {
    if (o.outcome === 'duplicate') {
      this.duplicates.inc({ transport: o.transport });
      return;
    }
    this.ingestedMessages.inc({ transport: o.transport, kind: o.kind, status: o.status });
    if (o.status === 'unparseable') this.parseFailures.inc({ transport: o.transport });
    if (o.status === 'parse_timeout') this.parseTimeouts.inc({ transport: o.transport });
    for (const r of o.records) this.records.inc({ kind: r.kind, type: r.type ?? 'none' });
    if (o.contactsBounced > 0) this.bounced.inc(o.contactsBounced);
  }

  commit(seconds: number, items: number, ok: boolean): void {
    this.commitSeconds.observe({ result: ok ? 'ok' : 'error' }, seconds);
    this.commitItems.observe(items);
    if (!ok) this.commitFailures.inc();
  }

  contactUnbounced(): void {
    this.unbounced.inc();
  }

  httpRequest(route: string, method: string, status: number): void {
    this.http.inc({ route, method, status: String(status) });
  }
}
