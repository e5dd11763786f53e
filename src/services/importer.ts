import { checkAddress, type VerpSettings } from '../domain/verp.js';
import { envelopeSenderOf } from '../dsn/parse.js';
import { isProblem, planSources, readSources } from '../import/sources.js';
import { errorText, type Logger } from '../logger.js';
import { TemporaryFailure, type IngestInput, type IngestResult, type Ingestor } from './ingest.js';

/**
 * Import: messages an operator already has (`.eml` files, folders, Maildir, mbox) go through
 * the same ingest as an SMTP arrival: the same parser, identification, rules, transaction and
 * deduplication by fingerprint (a message imported twice, or imported after it arrived over
 * SMTP, is stored and counted once). The envelope is rebuilt from the message: the sender
 * from `Return-Path:`, the recipients from the signed return paths (or `postmaster@` a bounce
 * domain) found in `Delivered-To:`, `X-Original-To:`, `Envelope-To:`, `To:` and `Cc:`. The date
 * recorded is the mbox From_ line's, else the message's `Date:`, else the time of the import.
 * A message over `smtp.maxMessageBytes` is skipped as SMTP would refuse it.
 */

export interface ImportProgress {
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly messages: number;
  readonly stored: number;
  readonly duplicates: number;
}

export interface ImportSummary {
  readonly files: number;
  readonly messages: number;
  /** New messages stored. */
  readonly stored: number;
  /** Messages already stored (by SMTP or an earlier import): counted once. */
  readonly duplicates: number;
  readonly tooBig: number;
  readonly failed: number;
  /** New messages by kind (bounce, delay, delivery, complaint, autoreply, unknown). */
  readonly byKind: Record<string, number>;
  /** New messages by status (processed, unattributed, unparseable). */
  readonly byStatus: Record<string, number>;
  readonly records: number;
  readonly contactsBounced: number;
  readonly softBouncesCounted: number;
  readonly complaints: number;
  /** Files skipped and messages that failed (the first 100). */
  readonly problems: Array<{ source: string; error: string }>;
  /** Set when the import stopped early (the database became unavailable). */
  readonly aborted: string | null;
}

export interface ImporterOptions {
  readonly ingestor: Ingestor;
  readonly verp: VerpSettings;
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  readonly logger: Logger;
  /** Messages parsed ahead while earlier ones commit (default 32). */
  readonly window?: number;
}

const ENVELOPE_HEADERS = /^(delivered-to|x-original-to|envelope-to|x-envelope-to|to|cc)$/i;
const ADDRESS = /[a-z0-9._+=-]+@[a-z0-9.-]+/gi;
const MAX_PROBLEMS = 100;

/** The header section of a message, unfolded, as [name, value] pairs. */
function headerFields(raw: Buffer): Array<[string, string]> {
  const text = raw.subarray(0, 64 * 1024).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const lines = (end >= 0 ? text.slice(0, end) : text).split(/\r?\n/);
  const fields: Array<[string, string]> = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1]![1] += ` ${line.trim()}`;
    else {
      const colon = line.indexOf(':');
      if (colon > 0) fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  return fields;
}

/** The envelope an SMTP client would have used, rebuilt from a stored message's headers. */
export function envelopeOf(raw: Buffer, verp: VerpSettings, maxRecipients: number): { mailFrom: string | null; rcptTo: string[]; date: Date | null } {
  const rcpt = new Set<string>();
  let date: Date | null = null;
  for (const [name, value] of headerFields(raw)) {
    if (ENVELOPE_HEADERS.test(name)) {
      for (const m of value.matchAll(ADDRESS)) {
        const address = m[0].toLowerCase().replace(/\.$/, '');
        if (rcpt.size < maxRecipients && checkAddress(verp, address).ok) rcpt.add(address);
      }
    } else if (date === null && /^date$/i.test(name)) {
      const d = new Date(value.replace(/\s*\([^)]*\)\s*$/, ''));
      if (!Number.isNaN(d.getTime())) date = d;
    }
  }
  return { mailFrom: envelopeSenderOf(raw), rcptTo: [...rcpt], date };
}

/** A date usable as the time a message was received: not before 1990, not in the future. */
function plausible(date: Date | null, now: Date): Date | null {
  if (!date) return null;
  const t = date.getTime();
  return t >= Date.UTC(1990, 0, 1) && t <= now.getTime() + 60_000 ? date : null;
}

export class Importer {
  constructor(private readonly options: ImporterOptions) {}

  async import(paths: readonly string[], onProgress?: (p: ImportProgress) => void): Promise<ImportSummary> {
    const plan = await planSources(paths);
    const counts = { messages: 0, stored: 0, duplicates: 0, tooBig: 0, failed: 0, records: 0, contactsBounced: 0, softBouncesCounted: 0, complaints: 0 };
    const byKind: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    const problems: Array<{ source: string; error: string }> = plan.skipped.map((s) => ({ source: s.path, error: s.reason }));
    const problem = (source: string, error: string) => {
      if (problems.length < MAX_PROBLEMS) problems.push({ source, error });
    };
    let aborted: string | null = null;
    let bytesRead = 0;
    const progress = () => onProgress?.({ bytesRead, totalBytes: plan.totalBytes, messages: counts.messages, stored: counts.stored, duplicates: counts.duplicates });

    const settle = (result: IngestResult) => {
      if (result.outcome === 'duplicate') {
        counts.duplicates++;
        return;
      }
      counts.stored++;
      counts.records += result.records;
      byKind[result.kind] = (byKind[result.kind] ?? 0) + 1;
      byStatus[result.status] = (byStatus[result.status] ?? 0) + 1;
      for (const c of result.changes) {
        if (c.event === 'bounced') counts.contactsBounced++;
        else if (c.event === 'soft_bounce_counted') counts.softBouncesCounted++;
        else if (c.event === 'complained') counts.complaints++;
      }
    };

    // Messages are parsed one after the other and committed without waiting, so that commits
    // are grouped; they are applied in the order they were read.
    const window = Math.max(1, this.options.window ?? 32);
    const inFlight = new Set<Promise<void>>();
    const now = new Date();
    progress();
    for await (const item of readSources(plan)) {
      if (aborted) break;
      if (isProblem(item)) {
        counts.failed++;
        problem(item.source, item.error);
        continue;
      }
      counts.messages++;
      bytesRead = item.bytesRead;
      if (item.raw.length > this.options.maxMessageBytes) {
        counts.tooBig++;
        problem(item.source, `${item.raw.length} bytes, over smtp.maxMessageBytes (${this.options.maxMessageBytes})`);
        progress();
        continue;
      }
      const envelope = envelopeOf(item.raw, this.options.verp, this.options.maxRecipients);
      const input: IngestInput = {
        raw: item.raw,
        mailFrom: envelope.mailFrom,
        rcptTo: envelope.rcptTo,
        receivedAt: plausible(item.date, now) ?? plausible(envelope.date, now) ?? new Date(),
        transport: 'import',
      };
      let prepared;
      try {
        prepared = await this.options.ingestor.prepare(input);
      } catch (err) {
        counts.failed++;
        problem(item.source, (err as Error).message);
        continue;
      }
      const job: Promise<void> = this.options.ingestor.commit(prepared).then(
        (result) => settle(result),
        (err: unknown) => {
          if (err instanceof TemporaryFailure) aborted ??= `the database is unavailable (${errorText(err.cause)}); run the import again: what was stored is recognised`;
          counts.failed++;
          problem(item.source, (err as Error).message);
        },
      );
      const tracked = job.finally(() => {
        inFlight.delete(tracked);
        progress();
      });
      inFlight.add(tracked);
      if (inFlight.size >= window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    bytesRead = aborted ? bytesRead : plan.totalBytes;
    progress();
    if (aborted) this.options.logger.log('error', 'IMPORT_ABORTED', aborted);
    return { files: plan.files.length, ...counts, byKind, byStatus, problems, aborted };
  }
}
