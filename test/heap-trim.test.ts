import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { fullCollection, HeapTrim, SETTLE_MS } from '../src/services/heap-trim.js';
import { TEST_SECRET, testConfig } from './helpers/config.js';
import { createSqlite } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { captureLogger } from './helpers/logs.js';
import { sendMany } from './helpers/smtp.js';

describe('heap trim after a burst', () => {
  it('collects when messages came in and then none for the quiet time, and once more a little later', () => {
    let handled = 0;
    let now = 1000;
    let collections = 0;
    const trim = new HeapTrim({ quietMs: 10_000, handled: () => handled, logger: silentLogger, collect: () => collections++, now: () => now });
    // Idle from the start: nothing to give back.
    now += 60_000;
    expect(trim.check()).to.equal(false);
    handled = 5;
    expect(trim.check()).to.equal(false);
    now += 9_000;
    expect(trim.check()).to.equal(false);
    // Messages keep coming: the quiet time starts again.
    handled = 6;
    expect(trim.check()).to.equal(false);
    now += 9_999;
    expect(trim.check()).to.equal(false);
    now += 1;
    expect(trim.check()).to.equal(true);
    expect(collections).to.equal(1);
    now += SETTLE_MS - 1;
    expect(trim.check()).to.equal(false);
    now += 1;
    expect(trim.check()).to.equal(true);
    expect(collections).to.equal(2);
    // Twice per burst, then nothing while idle.
    now += 600_000;
    expect(trim.check()).to.equal(false);
    // A message between the two collections starts over.
    handled = 7;
    trim.check();
    now += 10_000;
    expect(trim.check()).to.equal(true);
    handled = 8;
    now += SETTLE_MS;
    expect(trim.check()).to.equal(false);
    expect(collections).to.equal(3);
    now += 10_000;
    expect(trim.check()).to.equal(true);
    expect(collections).to.equal(4);
  });

  it('does nothing when turned off or when no collection is available', () => {
    let handled = 0;
    let now = 0;
    let collections = 0;
    const off = new HeapTrim({ quietMs: 0, handled: () => handled, logger: silentLogger, collect: () => collections++, now: () => now });
    const none = new HeapTrim({ quietMs: 1000, handled: () => handled, logger: silentLogger, collect: null, now: () => now });
    for (const step of [0, 5000, 60_000]) {
      handled += 3;
      now += step;
      expect(off.check()).to.equal(false);
      expect(none.check()).to.equal(false);
      now += 5000;
      expect(off.check()).to.equal(false);
      expect(none.check()).to.equal(false);
    }
    expect(collections).to.equal(0);
  });

  it('finds V8’s full collection, which frees garbage the heap holds', () => {
    const gc = fullCollection();
    expect(gc).to.be.a('function');
    gc!();
    const base = process.memoryUsage().heapUsed;
    let garbage: string[] | null = Array.from({ length: 200_000 }, (_, i) => `${i}`.padEnd(200, 'x'));
    expect(garbage.length).to.equal(200_000);
    const full = process.memoryUsage().heapUsed;
    expect(full - base).to.be.greaterThan(20 * 1048576);
    garbage = null;
    gc!();
    expect(process.memoryUsage().heapUsed - base).to.be.lessThan(10 * 1048576);
  });

  it('reads ingest.idleGcSeconds from REBOND_INGEST_IDLE_GC_SECONDS (default 10)', () => {
    expect(loadConfig({ skipDefaultsFile: true, env: { REBOND_VERP_SECRET: TEST_SECRET } }).ingest.idleGcSeconds).to.equal(10);
    expect(loadConfig({ skipDefaultsFile: true, env: { REBOND_VERP_SECRET: TEST_SECRET, REBOND_INGEST_IDLE_GC_SECONDS: '0' } }).ingest.idleGcSeconds).to.equal(0);
  });

  describe('in a running receiver', () => {
    let running: RunningServer | null = null;
    afterEach(async () => {
      await running?.stop();
      running = null;
    });

    async function start(idleGcSeconds: number) {
      const capture = captureLogger();
      running = await startServer(await createApp(testConfig(createSqlite().url, { ingest: { idleGcSeconds }, smtp: { shutdownTimeoutMs: 1000 } }), { logger: capture.logger }));
      const to = encodeReturnPath(running.app.verp, 'c1', 'trim@example.org');
      const replies = await sendMany(running.address.port, [{ from: '', to: [to], raw: makeDsn({ to, recipients: [{ recipient: 'trim@example.org', status: '5.1.1' }] }) }]);
      expect(replies[0]).to.match(/^250 /);
      return capture.entries;
    }

    it('collects a second after the last message, not again at once, with `ingest.idleGcSeconds: 1`', async () => {
      const entries = await start(1);
      const trimmed = () => entries.filter((e) => e.code === 'HEAP_TRIMMED');
      for (let i = 0; i < 50 && trimmed().length === 0; i++) await sleep(100);
      expect(trimmed()).to.have.length(1);
      expect(trimmed()[0]!['pass']).to.equal(1);
      expect(trimmed()[0]!['heapUsedMiB']).to.be.an('array').with.length(2);
      await sleep(1500);
      expect(trimmed()).to.have.length(1);
    });

    it('never collects with `ingest.idleGcSeconds: 0`', async () => {
      const entries = await start(0);
      await sleep(1500);
      expect(entries.filter((e) => e.code === 'HEAP_TRIMMED')).to.have.length(0);
    });
  });
});
