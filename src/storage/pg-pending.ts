import type { Knex } from 'knex';

/**
 * Rows a PostgreSQL ingest transaction has decided to write but not written yet: bounces,
 * audit lines, suppressions and contact updates, written in a few multi-row statements at the
 * end of the transaction (before COMMIT) instead of one statement each. Each statement is a
 * round trip to the server and back through the event loop; a batch now costs about the same
 * number of them whatever its size. What must be decided at once stays immediate: a message's
 * claim on its fingerprint and a contact's creation (the unique indexes arbitrate between
 * receivers there).
 *
 * A bounce's id is needed at once (it goes into the contact, its suppression and its audit
 * line), so ids are drawn from the table's sequence in blocks; the few a transaction does not
 * use are skipped, as a rolled-back insert's would be.
 */

const ID_BLOCK = 32;
/** Rows per statement (PostgreSQL takes at most 65,535 bound values). */
const ROWS_PER_STATEMENT = 1000;

export type Row = Record<string, unknown>;

export class PgPendingWrites {
  private bounces: Row[] = [];
  private events: Row[] = [];
  private suppressions: Row[] = [];
  /** The last update of each contact (it carries the whole new state). */
  private readonly contacts = new Map<number, unknown[]>();
  private ids: number[] = [];

  constructor(private readonly trx: Knex.Transaction) {}

  get empty(): boolean {
    return this.bounces.length === 0 && this.events.length === 0 && this.suppressions.length === 0 && this.contacts.size === 0;
  }

  async insertBounce(row: Row): Promise<number> {
    if (this.ids.length === 0) {
      const res: { rows: Array<{ id: string | number }> } = await this.trx.raw("SELECT nextval(pg_get_serial_sequence('bounces', 'id')) AS id FROM generate_series(1, ?)", [ID_BLOCK]);
      this.ids = res.rows.map((r) => Number(r.id));
    }
    const id = this.ids.shift()!;
    this.bounces.push({ id, ...row });
    return id;
  }

  addEvent(row: Row): void {
    this.events.push(row);
  }

  addSuppression(row: Row): void {
    // A second one for the same (contact, reason) would be ignored by the table anyway.
    if (this.suppressions.some((r) => r['contact_id'] === row['contact_id'] && r['reason'] === row['reason'])) return;
    this.suppressions.push(row);
  }

  updateContact(id: number, values: readonly unknown[]): void {
    this.contacts.set(id, [id, ...values]);
  }

  /** Writes everything queued, in an order that satisfies the foreign keys. */
  async flush(): Promise<void> {
    if (this.empty) return;
    const [bounces, events, suppressions] = [this.bounces, this.events, this.suppressions];
    const contacts = [...this.contacts.values()];
    this.bounces = [];
    this.events = [];
    this.suppressions = [];
    this.contacts.clear();
    for (const chunk of chunks(bounces)) await this.trx('bounces').insert(chunk);
    for (const chunk of chunks(contacts)) {
      const one = '(?::int, ?::text, ?::text, ?::boolean, ?::timestamptz, ?::text, ?::bigint, ?::timestamptz)';
      await this.trx.raw(
        `UPDATE contacts AS c SET state = v.state, soft_campaigns = v.soft_campaigns, complained = v.complained, bounced_at = v.bounced_at, bounced_reason = v.bounced_reason, bounce_id = v.bounce_id, updated_at = v.updated_at
         FROM (VALUES ${chunk.map(() => one).join(', ')}) AS v(id, state, soft_campaigns, complained, bounced_at, bounced_reason, bounce_id, updated_at)
         WHERE c.id = v.id`,
        chunk.flat() as Knex.RawBinding[],
      );
    }
    for (const chunk of chunks(suppressions)) await this.trx('suppressions').insert(chunk).onConflict(['contact_id', 'reason']).ignore();
    for (const chunk of chunks(events)) await this.trx('contact_events').insert(chunk);
  }
}

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) out.push(rows.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}
