import { expect } from 'chai';
import type { Knex } from 'knex';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { contactKey, encodeReturnPath } from '../src/domain/verp.js';
import { applyPrepared, lockTargets, prepare, type IngestResult, type Prepared } from '../src/services/ingest.js';
import { ADVISORY_LOCK, migrate, openDatabase, type Database } from '../src/storage/db.js';
import { lockIdOfKey, unitOfWork } from '../src/storage/knex-repositories.js';
import type { Repositories, UnitOfWork } from '../src/storage/repositories.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { createPg, describeOnPostgres, resetDatabase, type TestDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { captureLogger } from './helpers/logs.js';
import { sendMany } from './helpers/smtp.js';
import { replayProblems, snapshot } from './helpers/workload.js';

/**
 * Two receivers' transactions on one PostgreSQL database, interleaved on purpose: each pauses
 * at a chosen point until the other has either caught up or is visibly waiting for a lock
 * (`pg_stat_activity`), so the interleaving that used to deadlock happens on every run.
 */
describeOnPostgres('concurrent transactions on one database', () => {
  const verp = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };
  let database: TestDatabase;
  let a: Database;
  let b: Database;
  let admin: Database;

  before(async () => {
    database = await createPg();
    a = openDatabase({ url: database.url, poolMax: 2, applicationName: 'rebond-test-a' });
    b = openDatabase({ url: database.url, poolMax: 2, applicationName: 'rebond-test-b' });
    admin = openDatabase({ url: database.url, poolMax: 2, applicationName: 'rebond-test-admin', statementTimeoutMs: 0 });
    await migrate(admin);
  });
  after(async () => {
    for (const db of [a, b, admin]) await db?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await resetDatabase(admin.knex);
  });

  async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const waitingOnLock = async (app: string) =>
    Number((await admin.knex('pg_stat_activity').where({ datname: dbName(), application_name: app, wait_event_type: 'Lock' }).count({ n: '*' }).first())!.n) > 0;
  const dbName = () => new URL(database.url).pathname.slice(1);

  /** One DSN whose envelope names several contacts, in this order. */
  function dsn(campaign: string, emails: readonly string[], status = '4.2.2'): Promise<Prepared> {
    const rcptTo = emails.map((e) => encodeReturnPath(verp, campaign, e));
    const raw = Buffer.from(makeDsn({ to: rcptTo[0]!, recipients: emails.map((e) => ({ recipient: e, status, diagnostic: `452 ${status} over quota` })) }));
    return prepare({ raw, mailFrom: '', rcptTo, transport: 'smtp' }, verp);
  }

  /**
   * A unit of work whose transactions stop once, on their first attempt, at their second
   * contact lookup, until `gate` resolves: the moment where a transaction holds one contact
   * and is about to take another.
   */
  function pausing(uow: UnitOfWork, gate: () => Promise<void>): UnitOfWork {
    let paused = false;
    return {
      transaction: (work) =>
        uow.transaction((repos) => {
          let lookups = 0;
          const contacts: Repositories['contacts'] = {
            ...repos.contacts,
            async lockByKey(key) {
              if (++lookups === 2 && !paused) {
                paused = true;
                await gate();
              }
              return repos.contacts.lockByKey(key);
            },
          };
          return work({ ...repos, contacts });
        }),
    };
  }

  /** Runs m1 on receiver a and m2 on receiver b at once, each pausing as above. */
  async function race(m1: Prepared, m2: Prepared, withLocks: boolean) {
    const { logger, entries } = captureLogger();
    const reached = { a: false, b: false };
    const gate = (self: 'a' | 'b', other: 'a' | 'b') => async () => {
      reached[self] = true;
      await until(async () => reached[other] || (await waitingOnLock(`rebond-test-${other}`)), `receiver ${other} caught up or waits for a lock`);
    };
    const run = (db: Database, self: 'a' | 'b', other: 'a' | 'b', m: Prepared) =>
      pausing(unitOfWork(db, { logger }), gate(self, other)).transaction(async (repos) => {
        if (withLocks) await lockTargets(repos, [m]);
        return applyPrepared(repos, m, 3);
      });
    const results: IngestResult[] = await Promise.all([run(a, 'a', 'b', m1), run(b, 'b', 'a', m2)]);
    return { results, retries: entries.filter((e) => e.code === 'DB_RETRY') };
  }

  async function expectBothCounted(emails: readonly string[]): Promise<void> {
    const snap = await snapshot(admin.knex);
    expect(snap.messages.size).to.equal(2);
    for (const email of emails) {
      const c = snap.contacts.get(email)!;
      expect([...c.softCampaigns].sort(), email).to.deep.equal(['c1', 'c2']);
      expect(c.rows.map((r) => r.counted), email).to.deep.equal([true, true]);
      expect(c.events.map((e) => e.event), email).to.deep.equal(['soft_bounce_counted', 'soft_bounce_counted']);
      expect(replayProblems(c, 3)).to.deep.equal([]);
    }
  }

  it('lets two receivers naming the same contacts in opposite orders queue instead of deadlocking', async () => {
    const { results, retries } = await race(await dsn('c1', ['ann@example.org', 'bob@example.org']), await dsn('c2', ['bob@example.org', 'ann@example.org']), true);
    expect(results.map((r) => r.outcome)).to.deep.equal(['stored', 'stored']);
    expect(retries, 'no transaction had to be retried').to.deep.equal([]);
    await expectBothCounted(['ann@example.org', 'bob@example.org']);
  });

  it('runs a deadlock victim again from the start, counting each of its bounces once, and logs it', async () => {
    // Without the up-front locks the same interleaving is a real deadlock: PostgreSQL aborts
    // one of the two transactions, which the unit of work runs again.
    const { results, retries } = await race(await dsn('c1', ['cid@example.org', 'dee@example.org']), await dsn('c2', ['dee@example.org', 'cid@example.org']), false);
    expect(results.map((r) => r.outcome)).to.deep.equal(['stored', 'stored']);
    expect(retries.map((r) => [r['errorCode'], r['attempt']])).to.deep.equal([['40P01', 1]]);
    await expectBothCounted(['cid@example.org', 'dee@example.org']);
  });

  it('runs a transaction whose connection was terminated before COMMIT again on a new connection', async () => {
    const { logger, entries } = captureLogger();
    const m1 = await dsn('c1', ['eve@example.org']);
    const m2 = await dsn('c2', ['eve@example.org']);
    let attempts = 0;
    let paused!: () => void;
    let resume!: () => void;
    const isPaused = new Promise<void>((r) => (paused = r));
    const terminated = new Promise<void>((r) => (resume = r));
    const done = unitOfWork(a, { logger }).transaction(async (repos) => {
      attempts++;
      const first = await applyPrepared(repos, m1, 3);
      if (attempts === 1) {
        paused();
        await terminated;
      }
      return [first, await applyPrepared(repos, m2, 3)];
    });
    await isPaused;
    const backend = () => admin.knex('pg_stat_activity').where({ datname: dbName(), application_name: 'rebond-test-a' }).andWhere('state', 'like', 'idle in transaction%').first('pid');
    const { pid } = await backend();
    await admin.knex.raw('SELECT pg_terminate_backend(?)', [pid]);
    await until(async () => (await admin.knex('pg_stat_activity').where({ pid }).first()) === undefined, 'the backend is gone');
    resume();
    const results = await done;
    expect(results.map((r) => r.outcome)).to.deep.equal(['stored', 'stored']);
    expect(attempts).to.equal(2);
    expect(entries.filter((e) => e.code === 'DB_RETRY').map((e) => e['attempt'])).to.deep.equal([1]);
    const c = (await snapshot(admin.knex)).contacts.get('eve@example.org')!;
    expect(c.rows.map((r) => [r.campaign, r.counted])).to.deep.equal([['c1', true], ['c2', true]]);
  });

  it('lets a send be recorded for a contact while a receiver holds that contact', async () => {
    const email = 'jon@example.org';
    const at = new Date().toISOString();
    const jon = await unitOfWork(admin).transaction(async (repos) => {
      await repos.campaigns.ensure('c9', at);
      return repos.contacts.ensure(email, contactKey(email), at);
    });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    const receiver = unitOfWork(a).transaction(async (repos) => {
      await repos.contacts.lockKeys([jon.emailKey]);
      await repos.contacts.lockByKey(jon.emailKey);
      holding();
      await released;
    });
    await held;
    try {
      const send = unitOfWork(b).transaction((repos) => repos.sends.record({ campaignId: 'c9', contactId: jon.id, sentAt: at, messageId: '<s1@sender.example>' }));
      const outcome = await Promise.race([send.then(() => 'recorded'), new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000))]);
      expect(outcome).to.equal('recorded');
    } finally {
      release();
      await receiver;
    }
  });

  describe('a receiver', () => {
    let running: RunningServer | null = null;
    afterEach(async () => {
      await running?.stop();
      running = null;
    });

    async function start(settings: Record<string, unknown>) {
      const { logger, entries } = captureLogger();
      running = await startServer(await createApp(testConfig(database.url, { database: settings }), { logger }));
      return { port: running.address.port, entries };
    }
    const message = (campaign: string, email: string) => {
      const to = encodeReturnPath(verp, campaign, email);
      return { from: '', to: [to], raw: makeDsn({ to, recipients: [{ recipient: email, status: '5.1.1' }] }) };
    };
    const stored = async () => Number((await admin.knex('messages').count({ n: '*' }).first())!.n);

    it('reconnects after the server closed every connection it had (restart, failover)', async () => {
      const { port, entries } = await start({ poolMax: 3 });
      expect(await sendMany(port, [message('c1', 'fay@example.org')])).to.match(/^250 /);
      const terminated = await admin.knex.raw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND application_name LIKE 'rebond@%'", [dbName()]);
      expect(terminated.rows.length, 'the receiver had a connection open').to.be.at.least(1);
      await until(async () => (await admin.knex('pg_stat_activity').where({ datname: dbName() }).andWhere('application_name', 'like', 'rebond@%').first()) === undefined, 'the connections are gone');
      expect(await sendMany(port, [message('c2', 'fay@example.org'), message('c3', 'gus@example.org')])).to.satisfy((r: string[]) => r.every((x) => x.startsWith('250 ')));
      expect(await stored()).to.equal(3);
      expect(entries.filter((e) => e.code === 'SMTP_TEMPFAIL')).to.deep.equal([]);
    });

    it('answers 451 when a lock is held beyond the statement timeout, and stores the message when the remote retries', async () => {
      const { port, entries } = await start({ statementTimeoutMs: 500 });
      const m = message('c1', 'hal@example.org');
      const holder: Knex.Transaction = await admin.knex.transaction();
      try {
        await holder.raw('SELECT pg_advisory_xact_lock(?, ?)', [ADVISORY_LOCK.CONTACT_KEY, lockIdOfKey(contactKey('hal@example.org'))]);
        expect(await sendMany(port, [m])).to.match(/^451 4\.3\.0 /);
      } finally {
        await holder.rollback();
      }
      expect(await stored()).to.equal(0);
      expect(await sendMany(port, [m])).to.match(/^250 2\.0\.0 Ok: stored/);
      expect(await stored()).to.equal(1);
      expect(entries.some((e) => e.code === 'DB_RECOVERED')).to.equal(true);
    });

    it('answers 451 when no connection is free within the acquire timeout', async () => {
      const { port } = await start({ poolMax: 1, acquireTimeoutMs: 300 });
      const m = message('c1', 'ida@example.org');
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let holding!: () => void;
      const isHeld = new Promise<void>((r) => (holding = r));
      const hold = running!.app.db.knex.transaction(async (trx) => {
        await trx.raw('SELECT 1');
        holding();
        await held;
      });
      await isHeld;
      try {
        expect(await sendMany(port, [m])).to.match(/^451 4\.3\.0 /);
      } finally {
        release();
        await hold;
      }
      expect(await sendMany(port, [m])).to.match(/^250 2\.0\.0 Ok: stored/);
    });
  });
});
