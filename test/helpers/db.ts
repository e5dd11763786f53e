import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { sqlitePath } from '../../src/storage/db.js';

/**
 * Real databases for tests: a fresh SQLite file, and a fresh PostgreSQL database created on
 * the server at REBOND_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) and
 * dropped afterwards. REBOND_TEST_PG: `auto` (default: PostgreSQL suites run when the server
 * answers, else they are skipped), `required` (they must run: CI), `off`.
 */

export type PgMode = 'auto' | 'required' | 'off';
export const pgUsage = { databases: 0 };

export function pgMode(): PgMode {
  const v = (process.env['REBOND_TEST_PG'] ?? 'auto').toLowerCase();
  return v === 'required' || v === 'off' ? v : 'auto';
}

export function pgAdminUrl(): string {
  return process.env['REBOND_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export interface TestDatabase {
  readonly dialect: 'sqlite' | 'pg';
  readonly url: string;
  drop(): Promise<void>;
}

let seq = 0;
function uniqueName(): string {
  return `rebond_t_${process.pid}_${Date.now().toString(36)}_${(seq++).toString(36)}`;
}

export function createSqlite(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'rebond-test-'));
  return {
    dialect: 'sqlite',
    url: `sqlite:${join(dir, 'rebond.sqlite')}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let pgReachable: Promise<boolean> | null = null;
export function pgAvailable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const admin = knexFactory({ client: 'pg', connection: pgAdminUrl(), pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
    try {
      await admin.raw('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await admin.destroy();
    }
  })();
  return pgReachable;
}

export async function createPg(): Promise<TestDatabase> {
  const name = uniqueName();
  const adminUrl = pgAdminUrl();
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  pgUsage.databases++;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    dialect: 'pg',
    url: url.toString(),
    async drop() {
      const a = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
      try {
        await a.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.destroy();
      }
    },
  };
}

export interface DatabaseSlot {
  readonly dialect: 'sqlite' | 'pg';
  /** The URL of this suite's database (set in a `before` hook). */
  readonly url: string;
}

/**
 * Declares the suite once per database: SQLite always, PostgreSQL unless REBOND_TEST_PG=off.
 * Each declared suite gets its own fresh database, dropped after it.
 */
export function describeEachDatabase(title: string, body: (slot: DatabaseSlot) => void): void {
  const dialects: Array<'sqlite' | 'pg'> = pgMode() === 'off' ? ['sqlite'] : ['sqlite', 'pg'];
  for (const dialect of dialects) {
    describe(`${title} [${dialect}]`, function () {
      let db: TestDatabase | null = null;
      const slot = {
        dialect,
        get url(): string {
          if (!db) throw new Error('database not ready');
          return db.url;
        },
      };
      before(async function () {
        if (dialect === 'pg') {
          if (!(await pgAvailable())) {
            if (pgMode() === 'required') throw new Error(`PostgreSQL required but not reachable at ${pgAdminUrl()}`);
            this.skip();
          }
          db = await createPg();
        } else {
          db = createSqlite();
        }
      });
      after(async () => {
        await db?.drop();
      });
      body(slot);
    });
  }
}

/** Empties every table (children first), keeping the schema. */
export async function resetDatabase(knex: import('knex').Knex): Promise<void> {
  for (const table of ['contact_events', 'suppressions', 'replaced_bounces', 'bounces', 'messages', 'sends', 'contacts', 'campaigns', 'automations']) {
    await knex(table).delete();
  }
}

/**
 * Declares a suite that needs PostgreSQL only (several processes sharing one database): it is
 * skipped when REBOND_TEST_PG=off or the server does not answer (and fails when it is required).
 * The suite creates its own databases with `createPg`.
 */
export function describeOnPostgres(title: string, body: () => void): void {
  if (pgMode() === 'off') return;
  describe(`${title} [pg]`, function () {
    before(async function () {
      if (!(await pgAvailable())) {
        if (pgMode() === 'required') throw new Error(`PostgreSQL required but not reachable at ${pgAdminUrl()}`);
        this.skip();
      }
    });
    body();
  });
}

/** Messages stored in a test SQLite database, read on a connection of its own. */
export async function countSqliteMessages(url: string): Promise<number> {
  const k = knexFactory({ client: 'sqlite3', connection: { filename: sqlitePath(url) }, useNullAsDefault: true });
  try {
    return Number((await k('messages').count({ n: '*' }).first())!.n);
  } finally {
    await k.destroy();
  }
}
