import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { encodeReturnPath } from '../src/domain/verp.js';
import { sqlitePath } from '../src/storage/db.js';
import { TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { createPg, createSqlite, pgAdminUrl, pgAvailable, pgMode, type TestDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { startReceiver, type Receiver } from './helpers/process.js';
import { sendMany } from './helpers/smtp.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

/**
 * The database goes away under a running receiver (a child process) and comes back: while it
 * is away every message is answered 451 4.3.0 (never 250, never 5xx), the outage is logged
 * once, nothing half-written is left, and the receiver resumes by itself.
 */

const TEMPFAIL = '451 4.3.0 Temporary local problem, please try again later';
const verp = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };
let seq = 0;

function messages(tag: string, n: number): Array<{ from: string; to: string[]; raw: string }> {
  const round = `${tag}${++seq}`;
  return Array.from({ length: n }, (_, i) => {
    const email = `${round}-u${i}@example.org`;
    const to = encodeReturnPath(verp, `${round}-c${i}`, email);
    return { from: '', to: [to], raw: makeDsn({ to, recipients: [{ recipient: email, status: i % 2 ? '5.1.1' : '4.2.2' }] }) };
  });
}

/** Delivers on two parallel sessions, as a remote queue would. */
async function deliver(port: number, items: Array<{ from: string; to: string[]; raw: string }>): Promise<string[]> {
  const half = Math.ceil(items.length / 2);
  const [a, b] = await Promise.all([sendMany(port, items.slice(0, half)), sendMany(port, items.slice(half))]);
  return [...a, ...b];
}

/** Every stored message has its bounce, contact and campaign; no row of a message that is not stored. */
async function expectComplete(db: Knex, expected: number): Promise<void> {
  expect(Number((await db('messages').count({ n: '*' }).first())!.n), 'messages').to.equal(expected);
  expect(Number((await db('bounces').count({ n: '*' }).first())!.n), 'bounces').to.equal(expected);
  expect(Number((await db('contacts').count({ n: '*' }).first())!.n), 'contacts').to.equal(expected);
  expect(Number((await db('campaigns').count({ n: '*' }).first())!.n), 'campaigns').to.equal(expected);
  const orphans = await db('bounces').leftJoin('messages', 'bounces.message_id', 'messages.id').whereNull('messages.id').count({ n: '*' }).first();
  expect(Number(orphans!.n)).to.equal(0);
  const bounced = await db('contacts').where({ state: 'bounced' }).count({ n: '*' }).first();
  expect(Number((await db('suppressions').count({ n: '*' }).first())!.n), 'suppressions').to.equal(Number(bounced!.n));
  // Each hard bounce bounced its contact; each soft one is in its contact's row of campaigns.
  const hard = await db('bounces').join('contacts', 'contacts.id', 'bounces.contact_id').where('bounces.type', 'hard').select('contacts.state');
  expect(hard.length).to.be.greaterThan(0);
  for (const c of hard) expect(c.state).to.equal('bounced');
  const soft = await db('bounces').join('contacts', 'contacts.id', 'bounces.contact_id').where('bounces.type', 'soft').select('contacts.soft_campaigns', 'bounces.campaign_id');
  for (const c of soft) expect(JSON.parse(c.soft_campaigns)).to.include(c.campaign_id);
}

async function outage(receiver: Receiver, port: number, db: Knex, incident: number, cut: () => Promise<void> | void, restore: () => Promise<void> | void, count = 4): Promise<void> {
  const before = Number((await db('messages').count({ n: '*' }).first())!.n);
  const deferred = messages('down', count);
  await cut();
  try {
    const replies = await deliver(port, deferred);
    expect(replies).to.deep.equal(deferred.map(() => TEMPFAIL));
    expect(receiver.count('DB_UNAVAILABLE'), 'logged once per incident').to.equal(incident);
    const line = receiver.logs.filter((l) => l['code'] === 'DB_UNAVAILABLE').at(-1)!;
    expect(String(line['error']).length, 'the error is shortened, the raw message never logged').to.be.below(400);
  } finally {
    await restore();
  }
  // The receiver resumes by itself: the remote's retry is stored.
  const retried = await deliver(port, deferred);
  expect(retried.every((r) => /^250 2\.0\.0 Ok: (already )?stored as \d+$/.test(r)), retried.join('\n')).to.equal(true);
  await receiver.waitForLog('DB_RECOVERED', () => receiver.count('DB_RECOVERED') === incident);
  expect(receiver.count('DB_UNAVAILABLE')).to.equal(incident);
  expect(receiver.logs.filter((l) => l['level'] === 'error' && l['code'] !== 'DB_UNAVAILABLE'), 'no other error lines').to.deep.equal([]);
  await expectComplete(db, before + deferred.length);
}

describe('database outage under a running receiver', function () {
  this.timeout(120_000);

  describe('SQLite', () => {
    let tdb: TestDatabase;
    let receiver: Receiver | null = null;
    let db: Knex;
    let immutable: string[] = [];

    beforeEach(async () => {
      tdb = createSqlite();
      receiver = await startReceiver({ REBOND_DATABASE_URL: tdb.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, REBOND_DATABASE_BUSY_TIMEOUT_MS: '200' });
      db = knexFactory({ client: 'sqlite3', connection: { filename: sqlitePath(tdb.url) }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
      const first = messages('up', 2);
      expect((await deliver(receiver.port, first)).every((r) => r.startsWith('250 '))).to.equal(true);
    });
    afterEach(async () => {
      for (const f of immutable) spawnSync('chattr', ['-i', f]);
      immutable = [];
      if (receiver) {
        receiver.child.kill('SIGTERM');
        expect(await receiver.exited()).to.equal(0);
      }
      receiver = null;
      await db.destroy();
      await tdb.drop();
    });

    it('answers 451 while another process holds the write lock, twice, logging each incident once', async () => {
      let trx: Knex.Transaction | null = null;
      const hold = async () => {
        trx = await db.transaction();
        await trx('automations').insert({ id: `lock-${seq}`, created_at: new Date().toISOString() });
      };
      const release = async () => {
        await trx?.rollback();
        trx = null;
      };
      // (This SQLite build waits for a lock in steps of a second: few messages keep it short.)
      await outage(receiver!, receiver!.port, db, 1, hold, release, 2);
      await outage(receiver!, receiver!.port, db, 2, hold, release, 2);
    });

    it('answers 451 within the busy timeout while another process holds the write lock, the messages queued meanwhile too', async () => {
      const busyMs = 2000;
      const slow = await startReceiver({ REBOND_DATABASE_URL: tdb.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, REBOND_DATABASE_BUSY_TIMEOUT_MS: String(busyMs) });
      const trx = await db.transaction();
      try {
        await trx('automations').insert({ id: `lock-${++seq}`, created_at: new Date().toISOString() });
        // One session each, all at once: the first waits for the lock, the others queue behind it.
        const started = Date.now();
        const replies = await Promise.all(messages('wait', 4).map(async (m) => ({ reply: (await sendMany(slow.port, [m]))[0], ms: Date.now() - started })));
        for (const r of replies) {
          expect(r.reply).to.equal(TEMPFAIL);
          expect(r.ms, 'answered within the busy timeout, with slack').to.be.below(busyMs + 3000);
        }
      } finally {
        await trx.rollback();
        slow.child.kill('SIGTERM');
        await slow.exited();
      }
    });

    it('answers 451 while the database file cannot grow (disk full), and resumes when it can', async () => {
      const pid = String(receiver!.child.pid);
      // The receiver's own file size limit (RLIMIT_FSIZE), lowered and raised again without privileges.
      await outage(
        receiver!,
        receiver!.port,
        db,
        1,
        () => void execFileSync('prlimit', ['--pid', pid, '--fsize=1:unlimited']),
        () => void execFileSync('prlimit', ['--pid', pid, '--fsize=unlimited:unlimited']),
      );
    });

    it('answers 451 while the database files are read-only even to root (immutable), and resumes', async function () {
      const file = sqlitePath(tdb.url);
      const files = [file, `${file}-wal`].filter((f) => existsSync(f));
      const probe = join(file, '..', 'probe');
      writeFileSync(probe, '');
      if (spawnSync('chattr', ['+i', probe]).status !== 0) this.skip(); // needs root and a file system with attributes
      spawnSync('chattr', ['-i', probe]);
      await outage(
        receiver!,
        receiver!.port,
        db,
        1,
        () => {
          for (const f of files) execFileSync('chattr', ['+i', f]);
          immutable = files;
        },
        () => {
          for (const f of files) execFileSync('chattr', ['-i', f]);
          immutable = [];
        },
      );
    });

    it('answers 451 while the -shm file cannot be written (immutable), instead of dying of SIGBUS, and resumes', async function () {
      const shm = `${sqlitePath(tdb.url)}-shm`;
      expect(existsSync(shm), 'normal traffic made the -shm file').to.equal(true);
      if (spawnSync('chattr', ['+i', shm]).status !== 0) this.skip(); // needs root and a file system with attributes
      spawnSync('chattr', ['-i', shm]);
      await outage(
        receiver!,
        receiver!.port,
        db,
        1,
        () => {
          execFileSync('chattr', ['+i', shm]);
          immutable = [shm];
        },
        () => {
          execFileSync('chattr', ['-i', shm]);
          immutable = [];
        },
      );
      // Stopped while the file is immutable: the database is left open, not closed (closing
      // would checkpoint through the mapping), and the process ends normally.
      execFileSync('chattr', ['+i', shm]);
      immutable = [shm];
      const stopping = receiver!;
      receiver = null;
      stopping.child.kill('SIGTERM');
      expect(await stopping.exited()).to.equal(0);
      expect(stopping.count('DB_LEFT_OPEN')).to.equal(1);
    });
  });

  describe('PostgreSQL through a proxy of the test', () => {
    let tdb: TestDatabase | null = null;
    let proxy: TcpProxy | null = null;
    let receiver: Receiver | null = null;
    let db: Knex | null = null;

    before(async function () {
      if (pgMode() === 'off') this.skip();
      if (!(await pgAvailable())) {
        if (pgMode() === 'required') throw new Error(`PostgreSQL required but not reachable at ${pgAdminUrl()}`);
        this.skip();
      }
    });
    beforeEach(async () => {
      tdb = await createPg();
      const direct = new URL(tdb.url);
      proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
      const proxied = new URL(tdb.url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      receiver = await startReceiver({
        REBOND_DATABASE_URL: proxied.toString(),
        REBOND_VERP_SECRET: TEST_SECRET,
        REBOND_VERP_DOMAINS: TEST_DOMAIN,
        REBOND_DATABASE_STATEMENT_TIMEOUT_MS: '1000',
        REBOND_DATABASE_ACQUIRE_TIMEOUT_MS: '1000',
      });
      db = knexFactory({ client: 'pg', connection: tdb.url, pool: { min: 0, max: 2 } });
      expect((await deliver(receiver.port, messages('up', 4))).every((r) => r.startsWith('250 '))).to.equal(true);
    });
    afterEach(async () => {
      if (receiver) {
        receiver.child.kill('SIGTERM');
        expect(await receiver.exited()).to.equal(0);
      }
      receiver = null;
      await proxy?.close();
      await db?.destroy();
      await tdb?.drop();
    });

    it('answers 451 while the server is gone (connections reset and refused), and the pool recovers from its dead connections', async () => {
      // First in the middle of a transaction, then between messages.
      await outage(receiver!, receiver!.port, db!, 1, () => proxy!.cutWhen('insert into "bounces"', 'reset'), () => proxy!.restore());
      await outage(receiver!, receiver!.port, db!, 2, () => proxy!.cut('reset'), () => proxy!.restore());
    });

    it('answers 451 while the network drops everything mid-transaction, then resumes with nothing half-written', async () => {
      // The network goes silent after the message row was written and before its bounce was:
      // the transaction left behind on the server must never be committed by a later one.
      await outage(receiver!, receiver!.port, db!, 1, () => proxy!.cutWhen('insert into "bounces"', 'blackhole'), () => proxy!.restore());
      // No transaction of the outage was left open on the server.
      const open = await db!.raw(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`);
      expect(Number(open.rows[0].n)).to.equal(0);
    });
  });
});
