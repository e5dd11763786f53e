import { isAscii } from 'node:buffer';
import type { Param, Statements } from './sqlite-statements.js';

/**
 * Rows an SQLite ingest transaction has decided to write but not written yet. Each statement
 * costs a trip from the event loop to SQLite's thread and back, and under load that trip waits
 * behind the SMTP sessions: a batch of messages written row by row spent most of its commit
 * time travelling. Here the new rows of a whole batch go in a few multi-row statements just
 * before COMMIT, so a batch costs about the same number of trips whatever its size.
 *
 * Row ids are given here rather than by the database, because the services need them at once
 * (a bounce's id goes into the contact, its suppression and its audit line). That is safe
 * because the transaction holds SQLite's only write lock from its first statement (`BEGIN
 * IMMEDIATE`): nobody else can take an id meanwhile. The ids continue `sqlite_sequence`, as
 * AUTOINCREMENT would (an id is never reused, even after its row was replaced by a replay).
 */

export type Table = 'contacts' | 'messages' | 'bounces' | 'contact_events';
type Queued = Table | 'campaigns' | 'suppressions';

interface Spec {
  /** Columns written, `id` first. */
  readonly columns: readonly string[];
  readonly tail: string;
}

const SPECS: Record<Queued, Spec> = {
  campaigns: {
    columns: ['id', 'name', 'automation_id', 'created_at'],
    tail: ' ON CONFLICT (id) DO NOTHING',
  },
  contacts: {
    columns: ['id', 'email', 'email_key', 'state', 'soft_campaigns', 'complained', 'created_at', 'updated_at'],
    tail: '',
  },
  messages: {
    columns: ['id', 'fingerprint', 'received_at', 'transport', 'mail_from', 'rcpt_to', 'remote_address', 'helo', 'size', 'raw', 'kind', 'format', 'status', 'problems', 'header_message_id', 'campaign_id', 'contact_key'],
    tail: '',
  },
  bounces: {
    columns: ['id', 'message_id', 'campaign_id', 'contact_id', 'recipient', 'kind', 'action', 'status_code', 'status_source', 'type', 'description', 'diagnostic', 'remote_mta', 'reporting_mta', 'counted', 'received_at'],
    tail: '',
  },
  contact_events: {
    columns: ['id', 'contact_id', 'at', 'event', 'from_state', 'to_state', 'actor', 'detail', 'bounce_id'],
    tail: '',
  },
  suppressions: {
    columns: ['contact_id', 'email', 'reason', 'bounce_id', 'created_at'],
    // A row that meets an earlier one (stored, or in the same statement) is left out, as one by one.
    tail: ' ON CONFLICT (contact_id, reason) DO NOTHING',
  },
};

const CONTACT_UPDATE = ['id', 'state', 'soft_campaigns', 'complained', 'bounced_at', 'bounced_reason', 'bounce_id', 'updated_at'];

/** Rows per INSERT (a statement's text is parsed at once; SQLite allows up to 1 GB of it). */
const ROWS_PER_STATEMENT = 500;

export class PendingWrites {
  private readonly rows: Record<Queued, Param[][]> = { campaigns: [], contacts: [], messages: [], bounces: [], contact_events: [], suppressions: [] };
  /** The message rows waiting, by id (their status may still change). */
  private readonly messages = new Map<number, Param[]>();
  /** Contact updates waiting, the last one for each contact (it carries the whole new state). */
  private readonly contacts = new Map<number, Param[]>();
  private next: Record<Table, number> | null = null;
  private reading: Promise<void> | null = null;

  constructor(private readonly s: Statements) {}

  get empty(): boolean {
    return this.contacts.size === 0 && Object.values(this.rows).every((r) => r.length === 0);
  }

  /**
   * Reads where the ids continue, once per transaction. Called early (see `expect`) so that the
   * read travels to SQLite together with the transaction's other reads instead of on its own.
   */
  ready(): Promise<void> {
    this.reading ??= this.readSequences().then((next) => {
      this.next ??= next;
    });
    return this.reading;
  }

  /** Queues a new row of `table` (values in the order of its columns, without the id); returns its id. */
  async insert(table: Table, values: readonly Param[]): Promise<number> {
    if (!this.next) await this.ready();
    if (!this.next) throw new Error('the id sequences were not read');
    const id = this.next[table]++;
    const row = [id, ...values];
    this.rows[table].push(row);
    if (table === 'messages') this.messages.set(id, row);
    return id;
  }

  /** Queues a row of a table whose rows carry their own key (campaigns, suppressions). */
  add(table: 'campaigns' | 'suppressions', values: readonly Param[]): void {
    this.rows[table].push([...values]);
  }

  /** Sets the status of a message queued here; false when it is not (already written). */
  setMessageStatus(id: number, status: string): boolean {
    const row = this.messages.get(id);
    if (!row) return false;
    row[SPECS.messages.columns.indexOf('status')] = status;
    return true;
  }

  updateContact(id: number, values: readonly Param[]): void {
    this.contacts.set(id, [id, ...values]);
  }

  /** Writes everything queued, in an order that satisfies the foreign keys. */
  async flush(): Promise<void> {
    if (!this.empty) await this.s.exec(this.script());
  }

  /** Writes everything queued and commits, in one trip to SQLite. */
  async flushAndCommit(): Promise<void> {
    await this.s.exec(`${this.script()}COMMIT;`);
  }

  /**
   * The queued writes as one SQL text with the values written in as literals (see `literal`),
   * so that a single call runs them all: a statement with bound values would cost a trip each.
   */
  private script(): string {
    const parts: string[] = [];
    const insert = (table: Queued) => {
      const rows = this.rows[table];
      if (rows.length === 0) return;
      this.rows[table] = [];
      const { columns, tail } = SPECS[table];
      for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) parts.push(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values(chunk)}${tail};`);
    };
    insert('campaigns');
    insert('contacts');
    insert('messages');
    insert('bounces');
    if (this.contacts.size > 0) {
      const rows = [...this.contacts.values()];
      this.contacts.clear();
      const set = CONTACT_UPDATE.slice(1)
        .map((c, i) => `${c} = v.column${i + 2}`)
        .join(', ');
      for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) parts.push(`UPDATE contacts SET ${set} FROM (VALUES ${values(chunk)}) AS v WHERE contacts.id = v.column1;`);
    }
    insert('suppressions');
    insert('contact_events');
    this.messages.clear();
    return parts.join('\n');
  }

  private async readSequences(): Promise<Record<Table, number>> {
    const rows = await this.s.all<{ name: string; seq: number }>("SELECT name, seq FROM sqlite_sequence WHERE name IN ('contacts', 'messages', 'bounces', 'contact_events')", []);
    const seq = (t: Table) => Number(rows.find((r) => r.name === t)?.seq ?? 0) + 1;
    return { contacts: seq('contacts'), messages: seq('messages'), bounces: seq('bounces'), contact_events: seq('contact_events') };
  }
}

function values(rows: readonly Param[][]): string {
  return rows.map((row) => `(${row.map(literal).join(', ')})`).join(', ');
}

/**
 * A value as an SQLite literal. Text is quoted with its quotes doubled (SQLite has no other
 * escape); text holding a NUL, which would end the SQL text early, is written as UTF-8 bytes
 * cast to text; bytes as a blob literal, or as text cast to a blob when they are ASCII without
 * NUL; numbers must be finite. Anything else is refused.
 */
export function literal(value: Param): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot store the number ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Buffer.isBuffer(value)) {
    // ASCII without NUL (most raw reports) as quoted text cast to its bytes: half the length
    // of hex, and the SQL text is copied and parsed whole.
    if (isAscii(value) && !value.includes(0)) return `CAST('${value.toString('latin1').replaceAll("'", "''")}' AS BLOB)`;
    return `X'${value.toString('hex')}'`;
  }
  if (typeof value === 'string') {
    if (value.includes('\0')) return `CAST(X'${Buffer.from(value, 'utf8').toString('hex')}' AS TEXT)`;
    return `'${value.replaceAll("'", "''")}'`;
  }
  throw new Error(`cannot store a value of type ${typeof value}`);
}

/** `rows` in slices of at most `size`. */
export function chunks<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
