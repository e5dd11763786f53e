import { expect } from 'chai';
import { createApp, startServer, type App } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { runCli } from './helpers/process.js';

const DAY = 86_400_000;

describeEachDatabase('raw message retention', (slot) => {
  let app: App;
  before(async () => {
    app = await createApp(testConfig(slot.url, { storage: { rawMaxBytes: 4096, rawRetentionDays: 180 } }), { logger: silentLogger });
  });
  after(async () => {
    await app?.close();
  });
  beforeEach(async () => {
    await resetDatabase(app.db.knex);
  });

  const input = (email: string, daysAgo: number, padding = 0) => {
    const to = encodeReturnPath(app.verp, 'c1', email);
    const raw = makeDsn({ to, recipients: [{ recipient: email, status: '5.1.1' }] }).replace('Your message could not', `${'z'.repeat(padding)}\r\nYour message could not`);
    return { raw: Buffer.from(raw), mailFrom: '', rcptTo: [to], transport: 'smtp' as const, receivedAt: new Date(Date.now() - daysAgo * DAY) };
  };
  const raws = async () => (await app.db.knex('messages').orderBy('id').select('raw')).map((m: { raw: Buffer | null }) => (m.raw ? Buffer.from(m.raw).length : null));

  it('keeps the first rawMaxBytes bytes of a large message, and all that it says', async () => {
    const big = input('ann@example.org', 0, 20_000);
    await app.ingestor.ingest(big);
    const m = await app.db.knex('messages').first();
    expect(Number(m.size)).to.equal(big.raw.length);
    expect(Buffer.from(m.raw).equals(big.raw.subarray(0, 4096))).to.equal(true);
    expect(await app.db.knex('bounces').first()).to.include({ status_code: '5.1.1', recipient: 'ann@example.org' });
  });

  it('prunes the raw bytes of old messages only, keeps their records, and still recognises a redelivery', async () => {
    const old = input('old@example.org', 200);
    await app.ingestor.ingest(old);
    await app.ingestor.ingest(input('new@example.org', 10));
    expect(await app.retention.prune({ dryRun: true })).to.deep.include({ pruned: 1, dryRun: true });
    expect((await raws()).every((n) => n !== null)).to.equal(true);
    const r = await app.retention.prune();
    expect(r.pruned).to.equal(1);
    expect(new Date(r.cutoff!).getTime()).to.be.closeTo(Date.now() - 180 * DAY, 60_000);
    const [oldRaw, newRaw] = await raws();
    expect(oldRaw).to.equal(null);
    expect(newRaw).to.be.a('number');
    expect(await app.db.knex('bounces').count({ n: '*' }).first()).to.satisfy((x: { n: unknown }) => Number(x.n) === 2);
    expect(await app.ingestor.ingest(old)).to.include({ outcome: 'duplicate' });
    expect((await app.retention.prune()).pruned).to.equal(0);
    expect(await app.retention.prune({ olderThanDays: 0 })).to.deep.include({ cutoff: null, pruned: 0 });
  });

  it('prunes on its own while the receiver runs', async () => {
    await app.ingestor.ingest(input('auto@example.org', 40));
    const running = await startServer(await createApp(testConfig(slot.url, { storage: { rawRetentionDays: 30, pruneIntervalMinutes: 1 } }), { logger: silentLogger }));
    try {
      const deadline = Date.now() + 20_000;
      while ((await raws())[0] !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await raws()).to.deep.equal([null]);
    } finally {
      await running.stop();
    }
  });

  it('prunes from the command line', async () => {
    await app.ingestor.ingest(input('cli@example.org', 5));
    const env = { REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN };
    const dry = runCli(['prune', '--older-than', '1', '--dry-run', '--json'], env);
    expect(dry.status, dry.stderr).to.equal(0);
    expect(JSON.parse(dry.stdout)).to.deep.include({ pruned: 1, dryRun: true });
    const none = runCli(['prune'], env);
    expect(none.stdout).to.match(/pruned the raw bytes of 0 message\(s\)/);
    const done = runCli(['prune', '--older-than', '1'], env);
    expect(done.stdout).to.match(/pruned the raw bytes of 1 message\(s\) received before 20/);
    expect(await raws()).to.deep.equal([null]);
  });
});
