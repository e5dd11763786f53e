import type { SuppressionReason } from '../domain/contact-rules.js';
import { normaliseEmail } from '../domain/verp.js';
import type { SuppressionCursor, SuppressionQuery, SuppressionRecord, SuppressionStore } from '../storage/stores.js';

/**
 * The suppression list: whom the send pipeline must not mail. A contact is suppressed while it
 * has at least one row in `suppressions` (reasons `hard_bounce`, `soft_bounces`, `complaint`).
 */

export interface SuppressionStatus {
  /** The address as given, normalised (trimmed, lowercase). */
  readonly email: string;
  readonly suppressed: boolean;
  readonly reasons: SuppressionReason[];
  /** When the oldest of its suppressions was made. */
  readonly since: string | null;
  readonly records: SuppressionRecord[];
}

export interface SuppressionPage {
  readonly items: SuppressionRecord[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly next: SuppressionCursor | null;
}

export type { SuppressionCursor, SuppressionQuery, SuppressionRecord } from '../storage/stores.js';

const EXPORT_BATCH = 1000;

export class SuppressionService {
  constructor(private readonly store: SuppressionStore) {}

  /** The status of each address, in the order given (duplicates collapse), in bulk. */
  async check(emails: readonly string[]): Promise<SuppressionStatus[]> {
    const wanted = [...new Set(emails.map(normaliseEmail).filter((e) => e.length > 0))];
    const rows = await this.store.byEmails(wanted);
    const byEmail = new Map<string, SuppressionRecord[]>();
    for (const r of rows) byEmail.set(r.email, [...(byEmail.get(r.email) ?? []), r]);
    return wanted.map((email) => {
      const records = (byEmail.get(email) ?? []).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.reason.localeCompare(b.reason));
      return {
        email,
        suppressed: records.length > 0,
        reasons: [...new Set(records.map((r) => r.reason))].sort(),
        since: records[0]?.createdAt ?? null,
        records,
      };
    });
  }

  async isSuppressed(email: string): Promise<boolean> {
    const [status] = await this.check([email]);
    return status?.suppressed ?? false;
  }

  /** One page of the list, oldest first; follow `next` for the rest (new rows land at the end). */
  async list(query: SuppressionQuery = {}, limit = 100): Promise<SuppressionPage> {
    const n = Math.min(EXPORT_BATCH, Math.max(1, Math.floor(limit)));
    const items = await this.store.list(query, n);
    const last = items[items.length - 1];
    return { items, next: items.length === n && last ? { createdAt: last.createdAt, contactId: last.contactId, reason: last.reason } : null };
  }

  count(query: SuppressionQuery = {}): Promise<number> {
    return this.store.count(query);
  }

  /** Every row (created at or after `since`), oldest first, read in pages without loading them all. */
  async *rows(query: Omit<SuppressionQuery, 'after'> = {}): AsyncGenerator<SuppressionRecord> {
    let after: SuppressionCursor | null = null;
    for (;;) {
      const page: SuppressionPage = await this.list({ ...query, after }, EXPORT_BATCH);
      yield* page.items;
      if (!page.next) return;
      after = page.next;
    }
  }
}
