import { applySignal, type ContactEventName } from '../domain/contact-rules.js';
import type { VerpSettings } from '../domain/verp.js';
import type { ParseOptions } from '../dsn/parse.js';
import type { RecipientReport, ReportKind } from '../dsn/types.js';
import { errorCode, errorText, type Logger } from '../logger.js';
import type { ContactRecord, MessageStatus, NewBounce, Repositories } from '../storage/repositories.js';
import type { BounceRecord, MessageStore, ReplayRepository, StoredMessage } from '../storage/stores.js';
import { COUNTABLE, messageStatus, prepare, recordable, resolveContact, signalFor, targetsOf, type ContactChange, type Prepared } from './ingest.js';

/**
 * Replay: stored raw messages re-read with the current parser, and what changed applied.
 *
 * For each message (received at or after `since`) whose raw bytes are kept whole, the message is
 * parsed and identified again exactly as on arrival, and the records it would now produce are
 * compared with the records it has (kind, campaign, contact, recipient, action, code, code
 * source, type, description, diagnostic, MTAs) and with the message's own kind, format and
 * status. When they are the same, nothing is written. When they differ, in one transaction
 * with the message row locked:
 *
 * 1. the old records move to `replaced_bounces` (with their ids), the new ones are written, and
 *    the message gets its new kind, format, status and `replayed_at`;
 * 2. each new bounce or complaint for a known contact is applied to the contact's current
 *    state by the same rules as on arrival, once: it is not applied again when one of the old
 *    records of this message had already counted for that contact and campaign with the same
 *    kind (for a bounce: the same type, or hard before; a soft bounce that is now hard is
 *    applied, so the contact becomes bounced). Such a record is written with `counted` true;
 * 3. a replayed record does not count when the operator unbounced the contact after the
 *    message was received (their decision stands), nor, for a soft bounce, when the contact's
 *    row of soft bounces was ended by a delivery after it (it is no longer "in a row");
 * 4. nothing is taken back: a contact bounced or suppressed by an old record stays so (only an
 *    operator's unbounce reverses a bounce), and a replayed delivery or delay changes nothing.
 *
 * A second replay finds every message the same and changes nothing more. Messages whose raw
 * bytes were pruned or cut at `storage.rawMaxBytes` are skipped (a part of a message could
 * parse differently only because it is cut).
 */

export interface ReplayOptions {
  /** Only messages received at or after this instant (ISO-8601). */
  readonly since?: string | null;
  /** Work out and report the changes, then roll every one of them back. */
  readonly dryRun?: boolean;
  /** Called after each message. */
  readonly onProgress?: (done: number, total: number) => void;
  /** How many changed messages to describe in the summary (default 100). */
  readonly maxChanges?: number;
}

export interface ReplayChange {
  readonly messageId: number;
  readonly receivedAt: string;
  readonly before: MessageShape;
  readonly after: MessageShape;
  /** Records of this message that counted for the first time. */
  readonly newlyCounted: number;
  readonly contactChanges: readonly ContactChange[];
}

export interface MessageShape {
  readonly kind: string;
  readonly format: string;
  readonly status: MessageStatus;
  /** One line per record: `kind type code campaign recipient`. */
  readonly records: readonly string[];
}

export interface ReplaySummary {
  readonly dryRun: boolean;
  readonly since: string | null;
  readonly examined: number;
  readonly unchanged: number;
  readonly changed: number;
  readonly skippedPruned: number;
  readonly skippedTruncated: number;
  readonly failed: number;
  readonly recordsReplaced: number;
  readonly recordsWritten: number;
  readonly newlyCounted: number;
  readonly contactsBounced: number;
  readonly contactsComplained: number;
  readonly changes: ReplayChange[];
  readonly failures: Array<{ messageId: number; error: string }>;
}

export interface ReplayerOptions {
  readonly messages: MessageStore;
  readonly verp: VerpSettings;
  readonly softThreshold: number;
  readonly logger: Logger;
  readonly parse?: Omit<ParseOptions, 'mailFrom'>;
  /** Records written per message (`ingest.maxReportRecipients`), as on arrival; no limit by default. */
  readonly maxReportRecipients?: number;
}

export const REPLAY_ACTOR = 'replay';

type Outcome =
  | { readonly type: 'unchanged' | 'pruned' | 'truncated' | 'gone' }
  | { readonly type: 'changed'; readonly change: ReplayChange; readonly replaced: number; readonly written: number };

interface Desired {
  readonly report: RecipientReport | null;
  readonly kind: ReportKind;
  readonly campaignId: string | null;
  readonly contact: ContactRecord | null;
}

class Rollback extends Error {
  constructor(readonly outcome: Outcome) {
    super('dry run');
  }
}

export class Replayer {
  private readonly logger: Logger;

  constructor(private readonly options: ReplayerOptions) {
    this.logger = options.logger.child('replay');
  }

  async replay(options: ReplayOptions = {}): Promise<ReplaySummary> {
    const since = options.since ?? null;
    const dryRun = options.dryRun === true;
    const maxChanges = options.maxChanges ?? 100;
    const total = await this.options.messages.count(since);
    const s = {
      examined: 0,
      unchanged: 0,
      changed: 0,
      skippedPruned: 0,
      skippedTruncated: 0,
      failed: 0,
      recordsReplaced: 0,
      recordsWritten: 0,
      newlyCounted: 0,
      contactsBounced: 0,
      contactsComplained: 0,
    };
    const changes: ReplayChange[] = [];
    const failures: Array<{ messageId: number; error: string }> = [];
    let after = 0;
    for (;;) {
      const ids = await this.options.messages.ids(after, since, 200);
      if (ids.length === 0) break;
      for (const id of ids) {
        after = id;
        s.examined++;
        try {
          const outcome = await this.replayOne(id, dryRun);
          if (outcome.type !== 'changed') {
            if (outcome.type === 'pruned') s.skippedPruned++;
            else if (outcome.type === 'truncated') s.skippedTruncated++;
            else s.unchanged++;
          } else {
            s.changed++;
            s.recordsReplaced += outcome.replaced;
            s.recordsWritten += outcome.written;
            s.newlyCounted += outcome.change.newlyCounted;
            s.contactsBounced += outcome.change.contactChanges.filter((c) => c.event === 'bounced').length;
            s.contactsComplained += outcome.change.contactChanges.filter((c) => c.event === 'complained').length;
            if (changes.length < maxChanges) changes.push(outcome.change);
            if (!dryRun) {
              this.logger.log('info', 'REPLAY_CHANGED', `message ${id} re-read: ${outcome.change.before.kind} -> ${outcome.change.after.kind}`, {
                messageId: id,
                before: outcome.change.before.records,
                after: outcome.change.after.records,
                newlyCounted: outcome.change.newlyCounted,
              });
            }
          }
        } catch (err) {
          s.failed++;
          failures.push({ messageId: id, error: errorText(err) });
          this.logger.log('error', 'REPLAY_FAILED', `message ${id} could not be replayed`, { messageId: id, errorCode: errorCode(err), error: errorText(err) });
        }
        options.onProgress?.(s.examined, Math.max(total, s.examined));
      }
    }
    return { dryRun, since, ...s, changes, failures };
  }

  private async replayOne(id: number, dryRun: boolean): Promise<Outcome> {
    const stored = await this.options.messages.get(id);
    if (!stored) return { type: 'gone' };
    if (!stored.raw) return { type: 'pruned' };
    if (stored.raw.length < stored.size) return { type: 'truncated' };
    // Parsing needs no database: done before the transaction, exactly as on arrival.
    const prepared = await prepare(
      {
        raw: stored.raw,
        mailFrom: stored.mailFrom,
        rcptTo: stored.rcptTo,
        remoteAddress: stored.remoteAddress,
        helo: stored.helo,
        receivedAt: new Date(stored.receivedAt),
        transport: stored.transport,
      },
      this.options.verp,
      this.options.parse,
    );
    try {
      return await this.options.messages.transaction(async (repos, replay) => {
        const outcome = await this.apply(repos, replay, id, prepared);
        if (dryRun) throw new Rollback(outcome);
        return outcome;
      });
    } catch (err) {
      if (err instanceof Rollback) return err.outcome;
      throw err;
    }
  }

  private async apply(repos: Repositories, replay: ReplayRepository, id: number, p: Prepared): Promise<Outcome> {
    const message = await replay.lockMessage(id);
    if (!message) return { type: 'gone' };
    const old = await replay.records(id);
    const { report } = p;
    // The same identification as on arrival, the Message-ID fallback of the sends included.
    const { targets, recipients, problems } = recordable(report, await targetsOf(repos, p), this.options.maxReportRecipients ?? Number.POSITIVE_INFINITY);

    const desired: Desired[] = [];
    if (COUNTABLE.has(report.kind)) {
      if (targets.length === 0) {
        for (const r of recipients) desired.push({ report: r, kind: r.kind, campaignId: null, contact: null });
      } else {
        for (const target of targets) {
          const contact = await resolveContact(repos, target, p.receivedAt);
          desired.push({ report: target.report, kind: target.report?.kind ?? report.kind, campaignId: target.campaignId, contact });
        }
      }
    }
    let status = messageStatus(p, targets);
    if (status === 'processed' && targets.length > 0 && COUNTABLE.has(report.kind) && desired.every((d) => d.contact === null)) status = 'unattributed';
    const first = targets[0];
    const update = {
      kind: report.kind,
      format: report.format,
      status,
      problems,
      headerMessageId: report.messageId,
      campaignId: first?.campaignId ?? null,
      contactKey: first?.contactKey ?? null,
    };

    const newRecords = desired.map((d) => this.record(message, p, d));
    const sameRecords = old.length === newRecords.length && old.every((o, i) => recordKey(o) === recordKey(newRecords[i]!));
    const sameMessage =
      message.kind === update.kind &&
      message.format === update.format &&
      message.status === update.status &&
      JSON.stringify(message.problems) === JSON.stringify(update.problems) &&
      message.headerMessageId === update.headerMessageId &&
      message.campaignId === update.campaignId &&
      message.contactKey === update.contactKey;
    if (sameRecords && sameMessage) return { type: 'unchanged' };

    const now = new Date().toISOString();
    const replaced = await replay.replaceRecords(id, now);
    await replay.updateMessage(id, { ...update, replayedAt: now });
    const contactChanges: ContactChange[] = [];
    let newlyCounted = 0;
    for (let i = 0; i < desired.length; i++) {
      const d = desired[i]!;
      const base = newRecords[i]!;
      if (d.campaignId) await repos.campaigns.ensure(d.campaignId, p.receivedAt);
      const counts = d.contact ? await this.decide(replay, message, old, d) : 'no';
      if (counts !== 'apply') {
        await repos.bounces.insert({ ...base, counted: counts === 'already' });
        continue;
      }
      // Read again: an earlier record of this message may have changed the contact.
      const contact = (await repos.contacts.lockByEmail(d.contact!.email)) ?? d.contact!;
      const signal = signalFor(d.kind, d.report, d.campaignId ?? '');
      const outcome = applySignal(contact, signal!, this.options.softThreshold);
      const bounceId = await repos.bounces.insert({ ...base, counted: outcome.counted });
      if (outcome.counted) newlyCounted++;
      if (outcome.events.length === 0 && !outcome.suppress) continue;
      const becameBounced = contact.state !== 'bounced' && outcome.next.state === 'bounced';
      await repos.contacts.update(contact.id, {
        state: outcome.next.state,
        softCampaigns: outcome.next.softCampaigns,
        complained: outcome.next.complained,
        bouncedAt: becameBounced ? now : contact.bouncedAt,
        bouncedReason: becameBounced ? outcome.suppress : contact.bouncedReason,
        bounceId: becameBounced ? bounceId : contact.bounceId,
        updatedAt: now,
      });
      if (outcome.suppress) await repos.suppressions.add(contact.id, contact.email, outcome.suppress, bounceId, now);
      for (const e of outcome.events) {
        const detail = `${e.detail} (replay of message ${id} received ${message.receivedAt})`;
        await repos.events.insert({ contactId: contact.id, at: now, event: e.event, fromState: e.fromState, toState: e.toState, actor: REPLAY_ACTOR, detail, bounceId });
        contactChanges.push({ contactId: contact.id, email: contact.email, campaignId: d.campaignId ?? '', event: e.event, fromState: e.fromState, toState: e.toState, detail });
      }
    }
    return {
      type: 'changed',
      replaced,
      written: newRecords.length,
      change: {
        messageId: id,
        receivedAt: message.receivedAt,
        before: { kind: message.kind, format: message.format, status: message.status, records: old.map(describe) },
        after: { kind: update.kind, format: update.format, status, records: newRecords.map(describe) },
        newlyCounted,
        contactChanges,
      },
    };
  }

  /**
   * Whether a replayed record for a known contact is applied now ('apply'), was already applied
   * by an old record of the same message ('already'), or does not count ('no').
   */
  private async decide(replay: ReplayRepository, message: StoredMessage, old: readonly BounceRecord[], d: Desired): Promise<'apply' | 'already' | 'no'> {
    if (d.kind !== 'bounce' && d.kind !== 'complaint') return 'no';
    const type = d.report?.type ?? 'hard';
    const already = old.some(
      (o) => o.counted && o.contactId === d.contact!.id && o.campaignId === d.campaignId && o.kind === d.kind && (d.kind !== 'bounce' || o.type === 'hard' || type === 'soft'),
    );
    if (already) return 'already';
    const after: ContactEventName[] = d.kind === 'complaint' ? [] : type === 'soft' ? ['unbounced', 'streak_reset'] : ['unbounced'];
    if (after.length > 0 && (await replay.hadEventAfter(d.contact!.id, after, message.receivedAt))) return 'no';
    return 'apply';
  }

  private record(message: StoredMessage, p: Prepared, d: Desired): NewBounce {
    const r = d.report;
    return {
      messageId: message.id,
      campaignId: d.campaignId,
      contactId: d.contact?.id ?? null,
      recipient: r?.recipient ?? null,
      kind: d.kind,
      action: r?.action ?? null,
      statusCode: r?.status ?? null,
      statusSource: r?.statusSource ?? null,
      type: d.kind === 'bounce' ? (r?.type ?? null) : null,
      description: r?.description ?? null,
      diagnostic: r?.diagnostic ?? null,
      remoteMta: r?.remoteMta ?? null,
      reportingMta: p.report.reportingMta,
      counted: false,
      receivedAt: message.receivedAt,
    };
  }
}

/** What a record says, for comparison (not its id, nor whether it counted). */
function recordKey(r: Omit<NewBounce, 'messageId' | 'receivedAt'> | BounceRecord): string {
  return JSON.stringify([r.campaignId, r.contactId, r.recipient, r.kind, r.action, r.statusCode, r.statusSource, r.type, r.description, r.diagnostic, r.remoteMta, r.reportingMta]);
}

function describe(r: Pick<NewBounce, 'kind' | 'type' | 'statusCode' | 'campaignId' | 'recipient'>): string {
  return [r.kind, r.type ?? '-', r.statusCode ?? '-', r.campaignId ?? '-', r.recipient ?? '-'].join(' ');
}
