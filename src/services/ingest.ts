import { applySignal, type ContactEventName, type ContactState, type Signal } from '../domain/contact-rules.js';
import type { VerpSettings } from '../domain/verp.js';
import { parseMessage, type ParseOptions } from '../dsn/parse.js';
import type { ParsedReport, RecipientReport, ReportKind } from '../dsn/types.js';
import { errorCode, errorText, type Logger } from '../logger.js';
import { silentMetrics, type Metrics } from '../metrics.js';
import type { ContactRecord, MessageStatus, Repositories, Transport, UnitOfWork } from '../storage/repositories.js';
import { Committer, isDataError, isUnavailable } from './committer.js';
import { fingerprint } from './fingerprint.js';
import { identify, targetFromSend, type Target } from './identify.js';
import type { ParsePool } from './parse-pool.js';

/**
 * Ingest: raw message -> parse -> identify -> classify -> rules -> one transaction. Parsing and
 * identification happen before the transaction (they need no database); the transaction stores
 * the raw message, its bounces and every contact change together, or nothing.
 */

export interface IngestInput {
  readonly raw: Buffer;
  /** Envelope sender; `''` for `<>`. */
  readonly mailFrom: string | null;
  readonly rcptTo: readonly string[];
  readonly remoteAddress?: string | null;
  readonly helo?: string | null;
  readonly receivedAt?: Date;
  readonly transport: Transport;
}

export interface ContactChange {
  readonly contactId: number;
  readonly email: string;
  readonly campaignId: string;
  readonly event: ContactEventName;
  readonly fromState: ContactState;
  readonly toState: ContactState;
  readonly detail: string;
}

export interface IngestResult {
  readonly outcome: 'stored' | 'duplicate';
  readonly messageId: number;
  readonly kind: ReportKind;
  readonly status: MessageStatus;
  /** Bounce, delay, delivery and complaint records written. */
  readonly records: number;
  /** Kind and type (hard/soft for a bounce) of each record written. */
  readonly recorded?: ReadonlyArray<{ readonly kind: ReportKind; readonly type: string | null }>;
  readonly changes: readonly ContactChange[];
}

/** A message ready to be committed: everything computed that needs no database. */
export interface Prepared {
  readonly input: IngestInput;
  readonly fingerprint: string;
  readonly receivedAt: string;
  readonly report: ParsedReport;
  readonly targets: readonly Target[];
  /** Parsing went over `ingest.parseTimeoutMs`: stored raw, as parse_timeout. */
  readonly timedOut?: boolean;
}

/** Thrown when the message cannot be stored now; the SMTP answer is 451 4.3.0. */
export class TemporaryFailure extends Error {
  constructor(override readonly cause: unknown) {
    // Never the driver's whole message: knex puts the statement and its values in it.
    super(`database unavailable: ${errorText(cause)}`);
    this.name = 'TemporaryFailure';
  }
}

export const COUNTABLE: ReadonlySet<ReportKind> = new Set(['bounce', 'delay', 'delivery', 'complaint']);

export { fingerprint };

export async function prepare(input: IngestInput, verp: VerpSettings, parse: Omit<ParseOptions, 'mailFrom'> = {}): Promise<Prepared> {
  const report = await parseMessage(input.raw, { ...parse, mailFrom: input.mailFrom });
  return {
    input,
    fingerprint: fingerprint(input.raw),
    receivedAt: (input.receivedAt ?? new Date()).toISOString(),
    report,
    targets: identify(verp, input.rcptTo, report, input.raw),
  };
}

export function messageStatus(p: Prepared, targets: readonly Target[] = p.targets): MessageStatus {
  if (p.timedOut) return 'parse_timeout';
  if (p.report.format === 'none' && p.report.problems.length > 0) return 'unparseable';
  if (COUNTABLE.has(p.report.kind) && targets.length === 0) return 'unattributed';
  return 'processed';
}

/**
 * What a message's records are made from, at most `max` of them (`ingest.maxReportRecipients`):
 * one per target, or one per reported recipient when no target was found. A problem on the
 * message counts the recipients reported. Ingest and replay both go through here.
 */
export function recordable(report: ParsedReport, targets: readonly Target[], max: number): { targets: readonly Target[]; recipients: readonly RecipientReport[]; problems: readonly string[] } {
  const n = !COUNTABLE.has(report.kind) ? 0 : targets.length > 0 ? targets.length : report.recipients.length;
  if (n <= max) return { targets, recipients: report.recipients, problems: report.problems };
  return {
    targets: targets.slice(0, max),
    recipients: report.recipients.slice(0, max),
    problems: [...report.problems, `${n} recipients reported; the first ${max} recorded (ingest.maxReportRecipients)`],
  };
}

/**
 * The message alone, without its records: what is stored when the database refuses a value of
 * its records (a permanent data error). Kept unparseable, so that a replay reads it again.
 */
export function withoutRecords(p: Prepared, code: string): Prepared {
  const report: ParsedReport = { ...p.report, format: 'none', recipients: [], originalMessageIds: [], problems: [...p.report.problems, `not stored as parsed: the database refused a value (${code})`] };
  return { ...p, report, targets: [] };
}

/**
 * The last identification fallback, inside the transaction: the returned original's Message-ID,
 * when the send pipeline recorded it with the send (`sends.message_id`). Looked up in the lock
 * phase of a batch (`lockTargets`), so that the contact's key is locked in the global order
 * with the others; the targets found are kept for `applyPrepared` of the same attempt.
 */
const sendTargets = new WeakMap<Prepared, Target[]>();

function needsSendLookup(p: Prepared): boolean {
  return p.targets.length === 0 && COUNTABLE.has(p.report.kind) && p.report.originalMessageIds.length > 0;
}

async function targetsFromSends(repos: Repositories, report: ParsedReport): Promise<Target[]> {
  for (const id of report.originalMessageIds.slice(0, 5)) {
    const send = await repos.sends.findByMessageId(id);
    if (!send) continue;
    const contact = await repos.contacts.findById(send.contactId);
    if (contact) return [targetFromSend(send, contact, report)];
  }
  return [];
}

/**
 * The targets of a message: its own, or those its original's Message-ID names (locked). Replay
 * goes through here too, so that a message found by that fallback stays found.
 */
export async function targetsOf(repos: Repositories, p: Prepared): Promise<readonly Target[]> {
  if (!needsSendLookup(p)) return p.targets;
  const found = sendTargets.get(p);
  sendTargets.delete(p);
  if (found) return found;
  // Applied without a lock phase: look up and lock here.
  const targets = await targetsFromSends(repos, p.report);
  await repos.contacts.lockKeys(targets.map((t) => t.contactKey));
  return targets;
}

export function signalFor(kind: ReportKind, report: RecipientReport | null, campaignId: string): Signal | null {
  switch (kind) {
    case 'bounce':
      return { kind: 'bounce', type: report?.type ?? 'hard', campaignId };
    case 'delay':
      return { kind: 'delay' };
    case 'delivery':
      return { kind: 'delivery' };
    case 'complaint':
      return { kind: 'complaint' };
    default:
      return null;
  }
}

/**
 * The transaction body: store the message, its records (at most `maxRecords`) and the contact
 * changes. The raw bytes kept are the first `rawMaxBytes` of the message. Suppressions and audit
 * events carry the time they were made (for an imported message, later than its date), so that
 * an export `--since` the last one never misses them.
 *
 * Safe with several receivers committing at once (see `knex-repositories.ts` for the locks):
 * the message is claimed by its unique fingerprint, so when the same report reaches two
 * receivers one stores it and the other waits for that commit, then counts a duplicate; each
 * contact is read only once this transaction holds it, so its soft-bounce row, its move to
 * `bounced`, its suppression and its audit lines all follow from the state the previous holder
 * committed. Nothing here is kept outside the transaction: a retried attempt starts afresh.
 */
export async function applyPrepared(repos: Repositories, p: Prepared, softThreshold: number, rawMaxBytes = Number.POSITIVE_INFINITY, maxRecords = Number.POSITIVE_INFINITY): Promise<IngestResult> {
  const { report, receivedAt } = p;
  const now = new Date().toISOString();
  const { targets, recipients, problems } = recordable(report, await targetsOf(repos, p), maxRecords);
  let status = messageStatus(p, targets);
  const first = targets[0];
  const messageId = await repos.messages.insertIfNew({
    fingerprint: p.fingerprint,
    receivedAt,
    transport: p.input.transport,
    mailFrom: p.input.mailFrom,
    rcptTo: p.input.rcptTo,
    remoteAddress: p.input.remoteAddress ?? null,
    helo: p.input.helo ?? null,
    size: p.input.raw.length,
    raw: p.input.raw.length > rawMaxBytes ? p.input.raw.subarray(0, rawMaxBytes) : p.input.raw,
    kind: report.kind,
    format: report.format,
    status,
    problems,
    headerMessageId: report.messageId,
    campaignId: first?.campaignId ?? null,
    contactKey: first?.contactKey ?? null,
  });
  if (messageId === null) {
    // Already stored (by this receiver or another): counted in SQL, never read and written back.
    const existing = await repos.messages.recordDuplicate(p.fingerprint, receivedAt);
    return { outcome: 'duplicate', messageId: existing ?? 0, kind: report.kind, status, records: 0, changes: [] };
  }

  const changes: ContactChange[] = [];
  let records = 0;
  const recorded: Array<{ kind: ReportKind; type: string | null }> = [];
  const record = (r: RecipientReport | null, kind: ReportKind, campaignId: string | null, contactId: number | null, counted: boolean) => {
    records++;
    recorded.push({ kind, type: kind === 'bounce' ? (r?.type ?? null) : null });
    return repos.bounces.insert({
      messageId,
      campaignId,
      contactId,
      recipient: r?.recipient ?? null,
      kind,
      action: r?.action ?? null,
      statusCode: r?.status ?? null,
      statusSource: r?.statusSource ?? null,
      type: kind === 'bounce' ? (r?.type ?? null) : null,
      description: r?.description ?? null,
      diagnostic: r?.diagnostic ?? null,
      remoteMta: r?.remoteMta ?? null,
      reportingMta: report.reportingMta,
      counted,
      receivedAt,
    });
  };

  if (!COUNTABLE.has(report.kind)) return { outcome: 'stored', messageId, kind: report.kind, status, records, recorded, changes };

  if (targets.length === 0) {
    for (const r of recipients) await record(r, r.kind, null, null, false);
    return { outcome: 'stored', messageId, kind: report.kind, status, records, recorded, changes };
  }

  let resolved = 0;
  for (const target of targets) {
    await repos.campaigns.ensure(target.campaignId, receivedAt);
    // Locked (row lock, after the batch's key lock): the state read here is the latest committed.
    const contact = await resolveContact(repos, target, receivedAt);
    const kind = target.report?.kind ?? report.kind;
    if (!contact) {
      await record(target.report, kind, target.campaignId, null, false);
      continue;
    }
    resolved++;
    const signal = signalFor(kind, target.report, target.campaignId);
    const outcome = signal ? applySignal(contact, signal, softThreshold) : null;
    const bounceId = await record(target.report, kind, target.campaignId, contact.id, outcome?.counted ?? false);
    if (!outcome || (outcome.events.length === 0 && !outcome.suppress)) continue;

    const next = outcome.next;
    const becameBounced = contact.state !== 'bounced' && next.state === 'bounced';
    await repos.contacts.update(contact.id, {
      state: next.state,
      softCampaigns: next.softCampaigns,
      complained: next.complained,
      bouncedAt: becameBounced ? receivedAt : contact.bouncedAt,
      bouncedReason: becameBounced ? outcome.suppress : contact.bouncedReason,
      bounceId: becameBounced ? bounceId : contact.bounceId,
      updatedAt: receivedAt,
    });
    if (outcome.suppress) await repos.suppressions.add(contact.id, contact.email, outcome.suppress, bounceId, now);
    for (const e of outcome.events) {
      await repos.events.insert({ contactId: contact.id, at: now, event: e.event, fromState: e.fromState, toState: e.toState, actor: 'rebond', detail: e.detail, bounceId });
      changes.push({ contactId: contact.id, email: contact.email, campaignId: target.campaignId, event: e.event, fromState: e.fromState, toState: e.toState, detail: e.detail });
    }
  }
  if (resolved === 0 && status === 'processed') {
    status = 'unattributed';
    await repos.messages.setStatus(messageId, status);
  }
  return { outcome: 'stored', messageId, kind: report.kind, status, records, recorded, changes };
}

/**
 * The locks a batch of messages needs, taken before any of them is applied and in one global
 * order (see `Committer`): the campaigns they name are created in id order, then their contact
 * keys are locked in lock-id order; the messages themselves are then applied in fingerprint
 * order (`byFingerprint`), so the unique fingerprint of a message that reached two receivers is
 * also claimed in the same order by both. No transaction waits for a lock that sorts before
 * one it holds, so receivers sharing a database never deadlock one another.
 */
export async function lockTargets(repos: Repositories, items: readonly Prepared[]): Promise<void> {
  const campaigns: Array<{ id: string; at: string }> = [];
  const keys: string[] = [];
  for (const p of items) {
    if (!COUNTABLE.has(p.report.kind)) continue;
    let targets: readonly Target[] = p.targets;
    if (needsSendLookup(p)) {
      const found = await targetsFromSends(repos, p.report);
      sendTargets.set(p, found);
      targets = found;
    }
    for (const t of targets) {
      campaigns.push({ id: t.campaignId, at: p.receivedAt });
      keys.push(t.contactKey);
    }
  }
  await repos.campaigns.ensureAll(campaigns);
  // Reading which messages are already stored takes no lock: it goes with the contacts' reads.
  await Promise.all([repos.contacts.lockKeys(keys), repos.messages.expect(items.map((p) => p.fingerprint))]);
}

export function byFingerprint(a: Prepared, b: Prepared): number {
  return a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0;
}

/**
 * The contact a token names: by its key (the address it hashes from, if several share the key);
 * created when the report's recipient hashes to the key. Null when the token's contact is
 * unknown here and the report does not name it.
 */
export async function resolveContact(repos: Repositories, target: Target, at: string): Promise<ContactRecord | null> {
  const byKey = await repos.contacts.lockByKey(target.contactKey);
  if (target.email) {
    const exact = byKey.find((c) => c.email === target.email);
    if (exact) return exact;
    if (byKey.length === 0) return repos.contacts.ensure(target.email, target.contactKey, at);
  }
  return byKey[0] ?? null;
}

export interface IngestorOptions {
  readonly uow: UnitOfWork;
  readonly verp: VerpSettings;
  readonly softThreshold: number;
  readonly logger: Logger;
  readonly maxBatch?: number;
  /** Raw bytes kept per message (`storage.rawMaxBytes`); all of them by default. */
  readonly rawMaxBytes?: number;
  /** Records written per message (`ingest.maxReportRecipients`); no limit by default. */
  readonly maxReportRecipients?: number;
  /** The parser's decoder chain (the built-in one by default). */
  readonly parse?: Omit<ParseOptions, 'mailFrom'>;
  /** Counts messages, records, commits (see metrics.ts). */
  readonly metrics?: Metrics;
  /**
   * Worker threads that parse with the built-in decoder chain (`ingest.parseThreads`); not
   * used with a decoder chain of the caller's own. Closed by `close()`.
   */
  readonly parsePool?: ParsePool | null;
}

/** The ingest service: prepares, commits through the group committer, logs what changed. */
export class Ingestor {
  private readonly committer: Committer<Prepared, IngestResult>;
  private readonly logger: Logger;
  private unavailableSince: number | null = null;
  private failuresDuringIncident = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private handedIn = 0;
  private verp: VerpSettings;
  private softThreshold: number;
  private readonly parse: Omit<ParseOptions, 'mailFrom'>;
  private readonly metrics: Metrics;
  /** The parse workers in use (null: parsing on the main thread). */
  readonly parsePool: ParsePool | null;

  constructor(options: IngestorOptions) {
    this.logger = options.logger.child('ingest');
    this.verp = options.verp;
    this.softThreshold = options.softThreshold;
    this.parse = options.parse ?? {};
    this.metrics = options.metrics ?? silentMetrics;
    // Decoders are functions: a chain other than the built-in one cannot run in a worker.
    this.parsePool = this.parse.decoders === undefined && this.parse.limits === undefined ? (options.parsePool ?? null) : null;
    this.committer = new Committer(options.uow, (repos, p) => applyPrepared(repos, p, this.softThreshold, options.rawMaxBytes, options.maxReportRecipients), {
      maxBatch: options.maxBatch ?? 64,
      lock: lockTargets,
      order: byFingerprint,
      logger: this.logger,
      observe: (seconds, items, ok) => this.metrics.commit(seconds, items, ok),
    });
  }

  /** Settings that may change while running (configuration reload). */
  update(settings: { readonly verp: VerpSettings; readonly softThreshold: number }): void {
    this.verp = settings.verp;
    this.softThreshold = settings.softThreshold;
  }

  /** Stores and applies one message. Throws TemporaryFailure when the database cannot commit. */
  ingest(input: IngestInput): Promise<IngestResult> {
    return this.track(this.run(input));
  }

  /** Parses and identifies a message: everything that needs no database. */
  prepare(input: IngestInput): Promise<Prepared> {
    return this.parsePool ? this.parsePool.prepare(input, this.verp) : prepare(input, this.verp, this.parse);
  }

  /**
   * Stores and applies a prepared message. Messages committed without waiting for each other
   * are applied in the order of the calls (and grouped into shared transactions).
   */
  commit(prepared: Prepared): Promise<IngestResult> {
    return this.track(this.store(prepared));
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.handedIn++;
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  private async run(input: IngestInput): Promise<IngestResult> {
    return this.store(await this.prepare(input));
  }

  private async store(prepared: Prepared): Promise<IngestResult> {
    let result: IngestResult;
    try {
      result = await this.committer.submit(prepared);
    } catch (err) {
      if (!isDataError(err)) {
        this.noteFailure(err);
        throw new TemporaryFailure(err);
      }
      result = await this.storeRefused(prepared, err);
    }
    this.noteSuccess();
    this.logChanges(result);
    this.metrics.ingested({
      transport: prepared.input.transport,
      outcome: result.outcome,
      kind: result.kind,
      status: result.status,
      records: result.recorded ?? [],
      contactsBounced: result.changes.filter((c) => c.event === 'bounced').length,
    });
    return result;
  }

  /**
   * The database refused a value of this message's records (a permanent data error: the same
   * message would be refused at every retry of the remote). It is stored without them, and the
   * cause logged by its code; the database is not down, so nothing here counts as an outage.
   */
  private async storeRefused(prepared: Prepared, err: unknown): Promise<IngestResult> {
    const code = errorCode(err) ?? 'unknown';
    this.logger.log('error', 'INGEST_DATA_ERROR', 'the database refused a value of a message; stored it without its records', {
      fingerprint: prepared.fingerprint,
      errorCode: code,
      error: errorText(err),
    });
    try {
      return await this.committer.submit(withoutRecords(prepared, code));
    } catch (again) {
      this.noteFailure(again);
      throw new TemporaryFailure(again);
    }
  }

  /** Messages handed in since the start (ingest and commit calls). */
  get handled(): number {
    return this.handedIn;
  }

  /** Waits for every message in hand (being parsed or committed) to settle. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.committer.idle();
  }

  /** Drains, then stops the parse workers (messages handed in later are parsed in-thread). */
  async close(): Promise<void> {
    await this.drain();
    await this.parsePool?.close();
  }

  get healthy(): boolean {
    return this.unavailableSince === null;
  }

  private noteFailure(err: unknown): void {
    if (this.unavailableSince === null) {
      this.unavailableSince = Date.now();
      this.failuresDuringIncident = 1;
      this.logger.log('error', 'DB_UNAVAILABLE', 'database cannot commit; answering 451 until it can', {
        errorCode: errorCode(err),
        error: errorText(err),
        unavailable: isUnavailable(err),
      });
    } else {
      this.failuresDuringIncident++;
    }
  }

  private noteSuccess(): void {
    if (this.unavailableSince === null) return;
    this.logger.log('warn', 'DB_RECOVERED', 'database commits again', {
      downMs: Date.now() - this.unavailableSince,
      deferred: this.failuresDuringIncident,
    });
    this.unavailableSince = null;
    this.failuresDuringIncident = 0;
  }

  private logChanges(result: IngestResult): void {
    for (const c of result.changes) {
      const code = c.event === 'bounced' ? 'CONTACT_BOUNCED' : c.event === 'soft_bounce_counted' ? 'CONTACT_SOFT_BOUNCE' : c.event === 'streak_reset' ? 'CONTACT_STREAK_RESET' : c.event === 'complained' ? 'CONTACT_COMPLAINED' : 'CONTACT_CHANGED';
      this.logger.log('info', code, c.detail, { contact: c.email, campaign: c.campaignId, from: c.fromState, to: c.toState, messageId: result.messageId });
    }
  }
}
