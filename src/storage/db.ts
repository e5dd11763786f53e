import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Database as SqliteDatabase } from 'sqlite3';
import { redactUrl } from '../config.js';
import type { Logger } from '../logger.js';
import { MIGRATIONS } from './migrations/index.js';
import { guardConnection } from './sqlite-files.js';

/**
 * Opens the database named by a URL:
 * - `sqlite:PATH` (relative to the working directory) or `sqlite:///ABSOLUTE/PATH`: the embedded
 *   default, in WAL mode with `synchronous=FULL`, so a commit survives a power cut;
 * - `postgres://user@host:port/db` (or `postgresql://`): the scale-out path, where several
 *   receivers share one database.
 */

export type Dialect = 'sqlite' | 'pg';

export interface DatabaseOptions {
  readonly url: string;
  /** PostgreSQL: most connections this process opens (they are opened on demand). */
  readonly poolMax?: number;
  /** How long a transaction waits for a connection (or for one to be opened) before failing. */
  readonly acquireTimeoutMs?: number;
  /**
   * PostgreSQL statement timeout; 0 disables it. It also bounds how long a transaction may sit
   * idle while holding locks (`idle_in_transaction_session_timeout`), so a receiver that hangs
   * or loses its network in the middle of a transaction cannot block the others for long.
   */
  readonly statementTimeoutMs?: number;
  /** SQLite: how long a write waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number;
  /** PostgreSQL: the name shown in `pg_stat_activity.application_name`. */
  readonly applicationName?: string;
  /** Where the driver's own warnings go (debug level); without one they are dropped. */
  readonly logger?: Logger;
}

export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  /** What it was opened with (a migration opens its own connection with the same). */
  readonly options: DatabaseOptions;
  close(): Promise<void>;
}

export function dialectOf(url: string): Dialect {
  if (/^sqlite:/i.test(url)) return 'sqlite';
  if (/^postgres(ql)?:\/\//i.test(url)) return 'pg';
  throw new Error(`database.url "${redactUrl(url)}" must start with sqlite: or postgres://`);
}

export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:/i, '');
  const path = rest.startsWith('//') ? rest.replace(/^\/\//, '') : rest;
  if (!path || path === ':memory:') throw new Error('database.url: an in-memory SQLite database would lose every bounce; give a file path');
  return resolve(path);
}

/** `rebond@<host>`: how a receiver's connections are named on the PostgreSQL server. */
export function defaultApplicationName(): string {
  return `rebond@${hostname()}`.slice(0, 63);
}

export function openDatabase(options: DatabaseOptions): Database {
  const dialect = dialectOf(options.url);
  const acquireTimeout = options.acquireTimeoutMs ?? 5000;
  const driverLog = options.logger?.child('storage');
  // knex writes its notes to the console, which would break JSON log lines; they go to the log.
  const log = {
    warn: (message: unknown) => driverLog?.log('debug', 'DB_DRIVER_NOTE', String(message)),
    deprecate: (message: unknown) => driverLog?.log('debug', 'DB_DRIVER_NOTE', String(message)),
    debug: () => {},
    error: (message: unknown) => driverLog?.log('error', 'DB_DRIVER_ERROR', String(message)),
  };
  let knex: Knex;
  if (dialect === 'sqlite') {
    const filename = sqlitePath(options.url);
    mkdirSync(dirname(filename), { recursive: true });
    const busy = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    knex = knexFactory({
      client: 'sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      log,
      acquireConnectionTimeout: acquireTimeout,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
          // WAL + FULL: a committed transaction is on disk before COMMIT returns. The busy
          // timeout comes first: switching a new file to WAL needs a moment alone with it, and
          // another process may be opening it at the same time. Every statement first checks
          // that the files SQLite maps can be written (sqlite-files.ts).
          guardConnection(conn as unknown as SqliteDatabase, filename, (reason) =>
            driverLog?.log('error', 'DB_LEFT_OPEN', 'the SQLite database was not closed: SQLite would crash the process (SIGBUS) writing to a file it maps', { error: reason }),
          );
          setupSqlite(conn, busy).then(
            () => done(null, conn),
            (err: Error) => done(err, conn),
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
        application_name: options.applicationName ?? defaultApplicationName(),
        // A server that does not answer (network cut) must not hold a message forever: connecting
        // and each query are bounded on our side too (a query with no answer 2 s after the
        // server's own timeout is abandoned, see discardOnQueryTimeout), and the server drops a
        // transaction whose client went silent. TCP keepalive (after 30 s idle) lets idle pooled
        // connections to a server that vanished be noticed and replaced.
        connectionTimeoutMillis: acquireTimeout,
        keepAlive: true,
        keepAliveInitialDelayMillis: 30_000,
        ...(statementTimeout > 0 ? { statement_timeout: statementTimeout, idle_in_transaction_session_timeout: statementTimeout, query_timeout: statementTimeout + 2000 } : {}),
      },
      log,
      acquireConnectionTimeout: acquireTimeout,
      // Connections are opened on demand and closed after 30 s idle. A connection the server
      // closed (restart, failover, pg_terminate_backend) is dropped from the pool when it
      // reports the error, and the next transaction opens a new one.
      pool: { min: 0, max: options.poolMax ?? 10, idleTimeoutMillis: 30_000, afterCreate: discardOnQueryTimeout },
    });
  }
  return {
    knex,
    dialect,
    options,
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

/**
 * Two connections switching a fresh file to WAL at the same moment can each hold a shared lock
 * and want the exclusive one: SQLite answers one of them SQLITE_BUSY at once, without waiting
 * for the busy timeout (it would be a deadlock). That one tries again, within the busy timeout.
 */
async function setupSqlite(conn: SqliteConnection, busyMs: number): Promise<void> {
  const exec = (sql: string) => new Promise<void>((res, rej) => conn.exec(sql, (err) => (err ? rej(err) : res())));
  await exec(`PRAGMA busy_timeout=${busyMs};`);
  const deadline = Date.now() + busyMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await exec('PRAGMA journal_mode=WAL;');
      break;
    } catch (err) {
      if (!/^SQLITE_BUSY/.test((err as { code?: string }).code ?? '') || Date.now() > deadline) throw err;
      await sleep(Math.min(200, 10 * attempt) * (0.5 + Math.random()));
    }
  }
  await exec('PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;');
}

interface SqliteConnection {
  exec(sql: string, cb: (err: Error | null) => void): void;
}

const MIGRATIONS_TABLE = 'rebond_migrations';
const MIGRATIONS_LOCK_TABLE = `${MIGRATIONS_TABLE}_lock`;

/**
 * PostgreSQL advisory lock keys (the two-integer form, so they never meet a one-integer lock an
 * application may take on the same database). The first number says what is locked.
 */
export const ADVISORY_LOCK = {
  /** Schema migrations: (MIGRATIONS, 0). */
  MIGRATIONS: 0x72620001,
  /** A contact key, whether the contact exists yet or not: (CONTACT_KEY, lockIdOfKey(key)). */
  CONTACT_KEY: 0x72620002,
} as const;

function migrationSource(): Knex.MigrationSource<(typeof MIGRATIONS)[number]> {
  return {
    getMigrations: async () => [...MIGRATIONS],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => m,
  };
}

export interface MigrateOptions {
  readonly logger?: Logger;
  /** SQLite: how long to keep trying while another process holds the file (default 30 s). */
  readonly sqliteWaitMs?: number;
}

/**
 * Runs the schema migrations that have not run yet, once, however many processes ask at the
 * same moment (several receivers starting together on a fresh database).
 *
 * knex's own migration lock is not enough for that: two processes can both find the migration
 * tables missing and both create them (one fails), or both insert the lock row (after which
 * every run fails with "Migration table is already locked"). So on PostgreSQL the whole run,
 * table creation included, happens in one transaction that first takes an advisory lock: the
 * other starters wait on it, then find nothing left to do. The lock is released at commit, or
 * by the server if the process dies. On SQLite a second process is told the file is busy or
 * the table exists; it tries again until the first is done.
 *
 * Every migration runs inside that transaction, so a run that dies half-way leaves nothing
 * behind, the knex lock included; a lock row found set (or duplicated) outside a run is stale
 * and is repaired.
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<string[]> {
  const log = options.logger?.child('storage');
  const run = async (trx: Knex.Transaction): Promise<string[]> => {
    await repairMigrationLock(trx, log);
    const [, ran] = (await trx.migrate.latest({ migrationSource: migrationSource(), tableName: MIGRATIONS_TABLE, disableMigrationsListValidation: true })) as [number, string[]];
    return ran;
  };
  if (db.dialect === 'pg') {
    // A connection of its own, without the timeouts meant for bounces: a migration may rewrite
    // a big table, and a receiver may wait for another's migration as long as it takes.
    const own = openDatabase({ ...db.options, poolMax: 1, statementTimeoutMs: 0, applicationName: `${db.options.applicationName ?? defaultApplicationName()} migrate`.slice(0, 63) });
    try {
      return await own.knex.transaction(async (trx) => {
        const got = await trx.raw('SELECT pg_try_advisory_xact_lock(?, 0) AS ok', [ADVISORY_LOCK.MIGRATIONS]);
        if (!(got.rows[0] as { ok: boolean }).ok) {
          log?.log('info', 'DB_MIGRATE_WAIT', 'another process is migrating the database; waiting for it');
          await trx.raw('SELECT pg_advisory_xact_lock(?, 0)', [ADVISORY_LOCK.MIGRATIONS]);
        }
        return run(trx);
      });
    } finally {
      await own.close();
    }
  }
  const deadline = Date.now() + (options.sqliteWaitMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.knex.transaction(run);
    } catch (err) {
      if (Date.now() > deadline || !isConcurrentMigration(err)) throw err;
      await sleep(Math.min(1000, 50 * attempt) * (0.5 + Math.random()));
    }
  }
}

function isConcurrentMigration(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string };
  return /^SQLITE_BUSY/.test(e.code ?? '') || e.name === 'MigrationLocked' || /already exists|already locked|database is locked|UNIQUE constraint failed/i.test(e.message ?? '');
}

async function repairMigrationLock(trx: Knex.Transaction, log: Logger | undefined): Promise<void> {
  if (!(await trx.schema.hasTable(MIGRATIONS_LOCK_TABLE))) return;
  const rows: Array<{ is_locked: number | string }> = await trx(MIGRATIONS_LOCK_TABLE).select('is_locked');
  if (rows.length === 1 && Number(rows[0]!.is_locked) === 0) return;
  log?.log('warn', 'DB_MIGRATE_LOCK_REPAIRED', 'the migration lock was left set or duplicated by an earlier run; reset', { rows: rows.length });
  await trx(MIGRATIONS_LOCK_TABLE).delete();
  await trx(MIGRATIONS_LOCK_TABLE).insert({ is_locked: 0 });
}

export interface SchemaStatus {
  /** Migrations applied to the database, oldest first. */
  readonly applied: readonly string[];
  /** Migrations this version knows and the database lacks. */
  readonly pending: readonly string[];
  /** Migrations the database has and this version does not know (a newer version ran). */
  readonly unknown: readonly string[];
}

/** Where the database's schema stands relative to this version's migrations. */
export async function schemaStatus(db: Database): Promise<SchemaStatus> {
  const known = MIGRATIONS.map((m) => m.name);
  const applied: string[] = (await db.knex.schema.hasTable(MIGRATIONS_TABLE)) ? await db.knex(MIGRATIONS_TABLE).orderBy('id').pluck('name') : [];
  return {
    applied,
    pending: known.filter((n) => !applied.includes(n)),
    unknown: applied.filter((n) => !known.includes(n)),
  };
}

/** The newest migration this version knows: the schema it expects. */
export function expectedSchema(): string {
  return MIGRATIONS[MIGRATIONS.length - 1]!.name;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
