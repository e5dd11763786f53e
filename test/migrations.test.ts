import { expect } from 'chai';
import { createApp } from '../src/app.js';
import { ADVISORY_LOCK, migrate, openDatabase, schemaStatus, type Database } from '../src/storage/db.js';
import { MIGRATIONS } from '../src/storage/migrations/index.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { createPg, createSqlite, describeEachDatabase, describeOnPostgres, type TestDatabase } from './helpers/db.js';
import { captureLogger } from './helpers/logs.js';
import { runCli, startReceiver, type Receiver } from './helpers/process.js';

const NAMES = MIGRATIONS.map((m) => m.name);

describeEachDatabase('migrations', (slot) => {
  const fresh: TestDatabase[] = [];
  const open: Database[] = [];
  const receivers: Receiver[] = [];
  const freshDatabase = async () => {
    const d = slot.dialect === 'pg' ? await createPg() : createSqlite();
    fresh.push(d);
    return d;
  };
  const connect = (url: string) => {
    const db = openDatabase({ url, poolMax: 2 });
    open.push(db);
    return db;
  };
  afterEach(async () => {
    for (const r of receivers.splice(0)) {
      if (r.child.exitCode === null) r.child.kill('SIGTERM');
      await r.exited();
    }
    for (const db of open.splice(0)) await db.close();
    for (const d of fresh.splice(0)) await d.drop();
  });

  async function expectMigratedOnce(db: Database): Promise<void> {
    expect(await db.knex('rebond_migrations').orderBy('id').pluck('name')).to.deep.equal(NAMES);
    const lock = await db.knex('rebond_migrations_lock').select('is_locked');
    expect(lock.map((r) => Number(r.is_locked))).to.deep.equal([0]);
  }

  it('migrates a fresh database once when several processes ask at the same moment', async () => {
    const { url } = await freshDatabase();
    const dbs = Array.from({ length: 6 }, () => connect(url));
    await Promise.all(dbs.map((db) => db.knex.raw('select 1')));
    const ran = await Promise.all(dbs.map((db) => migrate(db)));
    expect(ran.flat()).to.deep.equal(NAMES);
    await expectMigratedOnce(dbs[0]!);
  });

  it('starts four receivers together on a fresh database, every one of them listening', async function () {
    this.timeout(90_000);
    const { url } = await freshDatabase();
    const env = { REBOND_DATABASE_URL: url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, REBOND_DATABASE_POOL_MAX: '2' };
    const started = await Promise.allSettled(Array.from({ length: 4 }, () => startReceiver(env)));
    for (const s of started) if (s.status === 'fulfilled') receivers.push(s.value);
    expect(started.map((s) => (s.status === 'rejected' ? String(s.reason).slice(0, 500) : 'listening'))).to.deep.equal(['listening', 'listening', 'listening', 'listening']);
    const migrated = receivers.flatMap((r) => r.logs.filter((l) => l['code'] === 'DB_MIGRATED'));
    expect(migrated, 'one receiver applied the migrations').to.have.length(1);
    await expectMigratedOnce(connect(url));
  });

  it('repairs a migration lock left set (or doubled) by an earlier run', async () => {
    const { url } = await freshDatabase();
    const db = connect(url);
    await migrate(db);
    await db.knex('rebond_migrations_lock').update({ is_locked: 1 });
    await db.knex('rebond_migrations_lock').insert({ is_locked: 1 });
    const { logger, entries } = captureLogger();
    expect(await migrate(db, { logger })).to.deep.equal([]);
    expect(entries.map((e) => e.code)).to.deep.equal(['DB_MIGRATE_LOCK_REPAIRED']);
    await expectMigratedOnce(db);
  });

  it('refuses to serve a schema that is behind when start-up migrations are off, and serves once `rebond migrate` ran', async function () {
    this.timeout(60_000);
    const { url } = await freshDatabase();
    const env = { REBOND_DATABASE_URL: url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, REBOND_DATABASE_MIGRATE: 'false' };
    const refused = await startReceiver(env).then(
      (r) => {
        receivers.push(r);
        return 'started';
      },
      (err: Error) => err.message,
    );
    expect(refused).to.match(/exited with 1/).and.to.contain('schema is behind').and.to.contain('rebond migrate');
    const migrated = runCli(['migrate'], env);
    expect(migrated.status, migrated.stderr).to.equal(0);
    expect(migrated.stdout).to.contain(`applied: ${NAMES.join(', ')}`);
    expect(runCli(['migrate'], env).stdout).to.match(/^up to date/);
    receivers.push(await startReceiver(env));
  });

  it('serves, with a warning, a database that a newer version already migrated', async () => {
    const { url } = await freshDatabase();
    const db = connect(url);
    await migrate(db);
    await db.knex('rebond_migrations').insert({ name: '29990101000000_from_the_future', batch: 9, migration_time: new Date().toISOString() });
    expect((await schemaStatus(db)).unknown).to.deep.equal(['29990101000000_from_the_future']);
    expect(await migrate(db)).to.deep.equal([]);
    const { logger, entries } = captureLogger();
    const app = await createApp(testConfig(url), { logger });
    await app.close();
    expect(entries.filter((e) => e.code === 'DB_SCHEMA_NEWER').map((e) => e['unknown'])).to.deep.equal([['29990101000000_from_the_future']]);
  });
});

describeOnPostgres('migrations while another process migrates', () => {
  it('waits for the other process as long as it takes, beyond the statement timeout meant for bounces', async function () {
    this.timeout(60_000);
    const fresh = await createPg();
    const holder = openDatabase({ url: fresh.url, poolMax: 1, statementTimeoutMs: 0 });
    const db = openDatabase({ url: fresh.url, poolMax: 2, statementTimeoutMs: 300 });
    try {
      const trx = await holder.knex.transaction();
      await trx.raw('SELECT pg_advisory_xact_lock(?, 0)', [ADVISORY_LOCK.MIGRATIONS]);
      const { logger, entries } = captureLogger();
      const migrating = migrate(db, { logger });
      // The other process holds the lock for well over statementTimeoutMs + 2 s.
      await until(() => entries.some((e) => e.code === 'DB_MIGRATE_WAIT'), 'the migration waits');
      await new Promise((r) => setTimeout(r, 3000));
      await trx.commit();
      expect(await migrating).to.deep.equal(NAMES);
    } finally {
      await db.close();
      await holder.close();
      await fresh.drop();
    }
  });
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
