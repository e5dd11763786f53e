import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { MIGRATIONS } from './migrations/index.js';

/**
 * Opens the database named by a URL:
 * - `sqlite:PATH` (relative to the working directory) or `sqlite:///ABSOLUTE/PATH`: the embedded
 *   default, in WAL mode with `synchronous=FULL`, so a commit survives a power cut;
 * - `postgres://user@host:port/db` (or `postgresql://`): the scale-out path.
 */

export type Dialect = 'sqlite' | 'pg';

export interface DatabaseOptions {
  readonly url: string;
  readonly poolMax?: number;
  readonly acquireTimeoutMs?: number;
  /** PostgreSQL statement timeout; 0 disables it. */
  readonly statementTimeoutMs?: number;
  /** SQLite: how long a write waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number;
}

export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

export function dialectOf(url: string): Dialect {
  if (/^sqlite:/i.test(url)) return 'sqlite';
  if (/^postgres(ql)?:\/\//i.test(url)) return 'pg';
  throw new Error(`database.url "${url}" must start with sqlite: or postgres://`);
}

export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:/i, '');
  const path = rest.startsWith('//') ? rest.replace(/^\/\//, '') : rest;
  if (!path || path === ':memory:') throw new Error('database.url: an in-memory SQLite database would lose every bounce; give a file path');
  return resolve(path);
}

export function openDatabase(options: DatabaseOptions): Database {
  const dialect = dialectOf(options.url);
  const acquireTimeout = options.acquireTimeoutMs ?? 5000;
  let knex: Knex;
  if (dialect === 'sqlite') {
    const filename = sqlitePath(options.url);
    mkdirSync(dirname(filename), { recursive: true });
    const busy = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    knex = knexFactory({
      client: 'sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      acquireConnectionTimeout: acquireTimeout,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
          // WAL + FULL: a committed transaction is on disk before COMMIT returns.
          conn.exec(
            `PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=${busy};`,
            (err) => done(err, conn),
          );
        },
      },
    });
  } else {
    const statementTimeout = options.statementTimeoutMs ?? 15_000;
    knex = knexFactory({
      client: 'pg',
      connection: {
        connectionString: options.url,
        // A server that does not answer (network cut) must not hold a message forever: connecting
        // and each query are bounded on our side too (a query with no answer 2 s after the
        // server's own timeout is abandoned, see discardOnQueryTimeout), and the server drops a
        // transaction whose client went silent.
        connectionTimeoutMillis: acquireTimeout,
        keepAlive: true,
        ...(statementTimeout > 0 ? { statement_timeout: statementTimeout, idle_in_transaction_session_timeout: statementTimeout, query_timeout: statementTimeout + 2000 } : {}),
      },
      acquireConnectionTimeout: acquireTimeout,
      pool: { min: 0, max: options.poolMax ?? 10, afterCreate: discardOnQueryTimeout },
    });
  }
  return {
    knex,
    dialect,
    async close() {
      await knex.destroy();
    },
  };
}

interface PgConnection {
  query(config: unknown, callback: (err: Error | null, result: unknown) => void): unknown;
  connection?: { stream?: { destroy(): void } };
  __knex__disposed?: unknown;
}

/**
 * A query that timed out on our side may still run on the server inside its transaction, and
 * the connection would carry that transaction to the next user. Such a connection is closed
 * (the server then rolls back) and never returned to the pool.
 */
function discardOnQueryTimeout(conn: PgConnection, done: (err: Error | null, conn: unknown) => void): void {
  const query = conn.query.bind(conn);
  conn.query = (config, callback) =>
    query(config, (err, result) => {
      if (err && /Query read timeout/.test(err.message)) {
        conn.__knex__disposed = err;
        conn.connection?.stream?.destroy();
      }
      callback(err, result);
    });
  done(null, conn);
}

interface SqliteConnection {
  exec(sql: string, cb: (err: Error | null) => void): void;
}

/** Runs the schema migrations that have not run yet. Safe to call from several processes. */
export async function migrate(db: Database): Promise<string[]> {
  const source: Knex.MigrationSource<(typeof MIGRATIONS)[number]> = {
    getMigrations: async () => [...MIGRATIONS],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => m,
  };
  const [, ran] = (await db.knex.migrate.latest({ migrationSource: source, tableName: 'rebond_migrations' })) as [number, string[]];
  return ran;
}
