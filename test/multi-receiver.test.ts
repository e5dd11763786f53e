import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { createPg, describeOnPostgres, type TestDatabase } from './helpers/db.js';
import { startReceiver, type Receiver } from './helpers/process.js';
import { oneByOne, spray } from './helpers/spray.js';
import { makeWorkload, orderIndependent, replayProblems, snapshot, type Snapshot } from './helpers/workload.js';

/**
 * Several receivers (one per MX host) share one PostgreSQL database. Three `rebond serve`
 * processes are sprayed at once by concurrent clients with DSNs for an overlapping set of
 * contacts and campaigns, some delivered to two receivers at the same moment; a fourth
 * receiver, on a second database, is fed the same deliveries one by one. Both databases must
 * hold the same messages, bounce records, contacts, campaigns and suppressions; where the rules
 * legitimately depend on the order of arrival, each database must be a serial execution of
 * the rules (see `replayProblems`).
 */
describeOnPostgres('several receivers sharing one database', () => {
  const verp = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };
  const RECEIVERS = 3;
  const CLIENTS = 12;
  const databases: TestDatabase[] = [];
  const running: Receiver[] = [];

  after(async () => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    for (const d of databases) await d.drop();
  });

  const env = (url: string) => ({ REBOND_DATABASE_URL: url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, REBOND_DATABASE_POOL_MAX: '3' });

  async function start(url: string, n: number): Promise<Receiver[]> {
    const started = await Promise.all(Array.from({ length: n }, () => startReceiver(env(url))));
    running.push(...started);
    return started;
  }

  async function stop(receivers: readonly Receiver[]): Promise<void> {
    for (const r of receivers) r.child.kill('SIGTERM');
    for (const r of receivers) expect(await r.exited(), 'receiver exits cleanly on SIGTERM').to.equal(0);
  }

  async function read(url: string): Promise<{ snap: Snapshot; deadlocks: number }> {
    const knex: Knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      const name = new URL(url).pathname.slice(1);
      const stats = await knex('pg_stat_database').where({ datname: name }).first('deadlocks');
      return { snap: await snapshot(knex), deadlocks: Number(stats?.deadlocks ?? 0) };
    } finally {
      await knex.destroy();
    }
  }

  it('ends, after a concurrent spray with duplicates across three receivers, in the state of a one-by-one replay', async function () {
    this.timeout(240_000);
    const seed = Number(process.env['REBOND_TEST_SEED'] ?? Math.floor(Math.random() * 1e9));
    const why = (what: string) => `${what} (seed ${seed}; rerun with REBOND_TEST_SEED=${seed})`;
    const w = makeWorkload({ seed, verp, receivers: RECEIVERS, domain: TEST_DOMAIN });
    const sends = w.deliveries.reduce((n, d) => n + d.receivers.length, 0);

    const shared = await createPg();
    databases.push(shared);
    const reference = await createPg();
    databases.push(reference);

    const t0 = Date.now();
    const receivers = await start(shared.url, RECEIVERS);
    const [single] = await start(reference.url, 1);
    const t1 = Date.now();
    const sprayed = (await spray(w, receivers.map((r) => r.port), CLIENTS)).map((r) => r.text);
    const t2 = Date.now();
    const replayed = (await oneByOne(w, single!.port)).map((r) => r.text);
    const t3 = Date.now();
    await stop([...receivers, single!]);
    const retries = receivers.flatMap((r) => r.logs.filter((l) => l['code'] === 'DB_RETRY')).length;

    for (const replies of [sprayed, replayed]) {
      expect(replies.filter((r) => !r.startsWith('250 ')), why('every delivery is answered 250')).to.deep.equal([]);
      expect(replies.filter((r) => /Ok: stored as/.test(r)).length, why('each message is stored once')).to.equal(w.messages.length);
      expect(replies.filter((r) => /already stored as/.test(r)).length, why('every other delivery is a duplicate')).to.equal(sends - w.messages.length);
    }

    const multi = await read(shared.url);
    const single1 = await read(reference.url);
    const a = multi.snap;
    const b = single1.snap;

    // Order-independent parts: exactly equal.
    expect([...a.messages].sort(), why('messages, their status and duplicate counts')).to.deep.equal([...b.messages].sort());
    expect(a.bounces, why('bounce records')).to.deep.equal(b.bounces);
    expect(a.campaigns, why('campaigns')).to.deep.equal(b.campaigns);
    expect([...a.contacts.keys()].sort(), why('contacts')).to.deep.equal([...b.contacts.keys()].sort());
    expect(a.contacts.size).to.equal(w.contacts.length);
    for (const c of w.contacts) {
      expect(orderIndependent(a.contacts.get(c.email)!, c.group), why(`${c.group} contact ${c.email}`)).to.deep.equal(orderIndependent(b.contacts.get(c.email)!, c.group));
    }

    // The workload is what it means to be (checked on the one-by-one database).
    for (const c of w.contacts) {
      const s = b.contacts.get(c.email)!;
      const counted = s.rows.filter((r) => r.counted).length;
      if (c.group === 'hard') expect([s.state, s.bouncedReason, counted], c.email).to.deep.equal(['bounced', 'hard_bounce', 1]);
      if (c.group === 'soft2') expect([s.state, [...s.softCampaigns].sort(), counted], c.email).to.deep.equal(['active', [...c.bounceCampaigns].sort(), 2]);
      if (c.group === 'soft3' || c.group === 'soft5') expect([s.state, s.bouncedReason, counted], c.email).to.deep.equal(['bounced', 'soft_bounces', 3]);
    }

    // Order-dependent parts (which bounce tipped a contact over, the row of a mixed contact):
    // each database is a serial execution of the rules.
    for (const snap of [a, b]) {
      const problems = [...snap.contacts.values()].flatMap((c) => replayProblems(c, 3));
      expect(problems, why('contact state follows the rules in the order the database serialised the bounces')).to.deep.equal([]);
    }
    expect(multi.deadlocks, why('PostgreSQL detected no deadlock between the receivers')).to.equal(0);

    if (process.env['REBOND_TEST_TIMINGS']) {
      process.stdout.write(`      multi-receiver: seed ${seed}, ${w.messages.length} messages, ${sends} deliveries; start ${t1 - t0} ms, spray over ${RECEIVERS} receivers ${t2 - t1} ms, one by one ${t3 - t2} ms, retries ${retries}\n`);
    }
  });
});
