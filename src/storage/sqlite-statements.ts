import type { Database as SqliteDatabase, Statement } from 'sqlite3';
import { checkConnection } from './sqlite-files.js';

/**
 * Prepared statements kept per SQLite connection. The ingest transaction runs about ten small
 * statements per message; compiling each one again (and building it through the query
 * builder) cost more than running it. Here each SQL text is compiled once per connection and
 * then only bound and stepped.
 *
 * Only `run` and `all` are offered: both step a statement to its end, which resets it, so a
 * cached statement never keeps a read open between uses.
 */

export interface RunResult {
  readonly lastID: number;
  readonly changes: number;
}

export type Param = string | number | boolean | null | Buffer;

/** Statements of different texts kept at most; the oldest is finalized beyond that. */
const MAX_CACHED = 128;

export class Statements {
  private readonly cache = new Map<string, Statement>();

  constructor(private readonly conn: SqliteDatabase) {}

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.conn.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  async run(sql: string, params: readonly Param[]): Promise<RunResult> {
    checkConnection(this.conn);
    const st = await this.statement(sql);
    return new Promise((resolve, reject) =>
      st.run(params, function (this: RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ lastID: this.lastID, changes: this.changes });
      }),
    );
  }

  async all<T>(sql: string, params: readonly Param[]): Promise<T[]> {
    checkConnection(this.conn);
    const st = await this.statement(sql);
    return new Promise((resolve, reject) => st.all(params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))));
  }

  /** Finalizes every cached statement (a connection with live statements cannot close). */
  async finalize(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(all.map((st) => new Promise<void>((resolve) => st.finalize(() => resolve()))));
  }

  private async statement(sql: string): Promise<Statement> {
    const cached = this.cache.get(sql);
    if (cached) return cached;
    const st = await new Promise<Statement>((resolve, reject) => {
      const s: Statement = this.conn.prepare(sql, (err: Error | null) => (err ? reject(err) : resolve(s)));
    });
    // Another call may have prepared the same text meanwhile: keep one.
    const raced = this.cache.get(sql);
    if (raced) {
      st.finalize();
      return raced;
    }
    this.cache.set(sql, st);
    if (this.cache.size > MAX_CACHED) {
      const [oldest, old] = this.cache.entries().next().value as [string, Statement];
      this.cache.delete(oldest);
      old.finalize();
    }
    return st;
  }
}

const byConnection = new WeakMap<SqliteDatabase, Statements>();

/**
 * The statement cache of a connection, created on first use. The connection's `close` is
 * wrapped so that the cached statements are finalized first, whoever closes it (the pool when
 * the database closes, or when it discards a broken connection).
 */
export function statementsOf(conn: SqliteDatabase): Statements {
  let s = byConnection.get(conn);
  if (s) return s;
  const statements = new Statements(conn);
  byConnection.set(conn, statements);
  const close = conn.close.bind(conn);
  conn.close = ((callback?: (err: Error | null) => void) => {
    void statements.finalize().then(() => close(callback));
    return conn;
  }) as SqliteDatabase['close'];
  s = statements;
  return s;
}
