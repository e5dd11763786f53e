import type { Database } from './db.js';
import { iso } from './rows.js';

/**
 * The `receivers` table: one row per receiver that uses this database, with the settings that
 * must agree between them (see `services/fleet.ts`). Written outside the ingest transactions.
 */

export interface ReceiverRecord {
  readonly name: string;
  readonly hostname: string;
  readonly address: string;
  readonly pid: number;
  readonly version: string;
  readonly schema: string;
  readonly settings: Record<string, unknown>;
  readonly startedAt: string;
  readonly seenAt: string;
  readonly stoppedAt: string | null;
}

interface ReceiverRow {
  name: string;
  hostname: string;
  address: string;
  pid: number | string;
  version: string;
  schema: string;
  settings: string;
  started_at: string | Date;
  seen_at: string | Date;
  stopped_at: string | Date | null;
}

function toReceiver(row: ReceiverRow): ReceiverRecord {
  let settings: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(row.settings);
    if (v && typeof v === 'object' && !Array.isArray(v)) settings = v as Record<string, unknown>;
  } catch {
    // an unreadable row shows as having no settings
  }
  return {
    name: row.name,
    hostname: row.hostname,
    address: row.address,
    pid: Number(row.pid),
    version: row.version,
    schema: row.schema,
    settings,
    startedAt: iso(row.started_at)!,
    seenAt: iso(row.seen_at)!,
    stoppedAt: iso(row.stopped_at),
  };
}

export interface ReceiverStore {
  /** Writes (or rewrites) a receiver's row: when it starts, then at each heartbeat. */
  register(receiver: ReceiverRecord): Promise<void>;
  stopped(name: string, at: string): Promise<void>;
  list(): Promise<ReceiverRecord[]>;
}

export function knexReceiverStore(db: Database): ReceiverStore {
  const knex = db.knex;
  return {
    async register(r) {
      const row = {
        name: r.name,
        hostname: r.hostname,
        address: r.address,
        pid: r.pid,
        version: r.version,
        schema: r.schema,
        settings: JSON.stringify(r.settings),
        started_at: r.startedAt,
        seen_at: r.seenAt,
        stopped_at: r.stoppedAt,
      };
      await knex('receivers').insert(row).onConflict('name').merge();
    },
    async stopped(name, at) {
      await knex('receivers').where({ name }).update({ stopped_at: at, seen_at: at });
    },
    async list() {
      const rows: ReceiverRow[] = await knex('receivers').orderBy('name');
      return rows.map(toReceiver);
    },
  };
}

/** What the database server says about itself, for `rebond check`. */
export interface ServerFacts {
  readonly server: string;
  /** The server's clock (PostgreSQL), to compare with this host's. */
  readonly now: string | null;
  readonly maxConnections: number | null;
  /** Connections open to this database, by application name. */
  readonly connections: ReadonlyArray<{ readonly application: string; readonly count: number }>;
}

export async function serverFacts(db: Database): Promise<ServerFacts> {
  if (db.dialect === 'sqlite') {
    const row: { v: string } | undefined = await db.knex.first(db.knex.raw('sqlite_version() AS v'));
    return { server: `SQLite ${row?.v ?? '?'}`, now: null, maxConnections: null, connections: [] };
  }
  const facts = await db.knex.raw("SELECT current_setting('server_version') AS version, now() AS now, current_setting('max_connections')::int AS max");
  const f = facts.rows[0] as { version: string; now: Date; max: number };
  const conns = await db.knex.raw('SELECT application_name AS application, count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1 ORDER BY 1');
  return {
    server: `PostgreSQL ${f.version}`,
    now: iso(f.now),
    maxConnections: Number(f.max),
    connections: (conns.rows as Array<{ application: string; count: number }>).map((c) => ({ application: c.application, count: Number(c.count) })),
  };
}
