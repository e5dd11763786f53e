import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { encodeReturnPath, type VerpSettings } from '../src/domain/verp.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import { envelopeSenderOf } from '../src/dsn/parse.js';
import type { Decoder } from '../src/dsn/types.js';
import { silentLogger } from '../src/logger.js';
import { prepare, type IngestInput } from '../src/services/ingest.js';
import { ParsePool } from '../src/services/parse-pool.js';
import { TEST_DOMAIN, TEST_SECRET, testConfig } from './helpers/config.js';
import { createSqlite } from './helpers/db.js';

/**
 * The parse worker pool gives what `prepare()` gives on the main thread, for every sample, from
 * the TypeScript sources and from the build; a worker that fails on a message, or dies with
 * messages in hand, costs nothing but time; closing leaves no thread behind.
 */

const ROOT = join(import.meta.dirname, '..');
const dir = join(ROOT, 'samples');
const samples = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
const verp: VerpSettings = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET, previousSecrets: [] };
const receivedAt = new Date('2026-01-02T03:04:05.000Z');

/** A sample as the receiver gets it: half at a signed return path, half at postmaster (found in the text, or not at all). */
function inputOf(file: string, n: number): IngestInput {
  const raw = readFileSync(join(dir, file));
  const rcptTo = n % 2 === 0 ? [encodeReturnPath(verp, `c${n}`, `contact${n}@example.org`)] : [`postmaster@${TEST_DOMAIN}`];
  return { raw, mailFrom: envelopeSenderOf(raw), rcptTo, receivedAt, transport: 'smtp' };
}

/** The kinds of handles and requests that keep the event loop going, sorted. */
function resources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

/** True once every worker has ended (a worker's threadId is -1 after its exit). */
function ended(workers: readonly Worker[]): boolean {
  return workers.every((w) => w.threadId === -1);
}

describe('parse pool', () => {
  it('gives the in-thread result for every sample (sources under tsx)', async () => {
    const pool = new ParsePool({ threads: 2 });
    try {
      const inputs = samples.map(inputOf);
      const pooled = await Promise.all(inputs.map((input) => pool.prepare(input, verp)));
      for (const [i, input] of inputs.entries()) {
        const local = await prepare(input, verp);
        expect(pooled[i], samples[i]).to.deep.equal(local);
        expect(pooled[i]!.input, 'the original input object').to.equal(input);
      }
      expect(inputs.some((_, i) => pooled[i]!.targets.length > 0), 'some targets found').to.equal(true);
      expect(pool.stats).to.include({ inWorker: samples.length, inThread: 0, started: 2, died: 0 });
    } finally {
      await pool.close();
    }
  });

  it('gives the in-thread result from the build (dist/) too', async () => {
    const built = join(ROOT, 'dist', 'services', 'parse-pool.js');
    expect(existsSync(built), 'dist/ is built (npm run build)').to.equal(true);
    const { ParsePool: BuiltPool } = (await import(pathToFileURL(built).href)) as { ParsePool: typeof ParsePool };
    const pool = new BuiltPool({ threads: 1 });
    try {
      const inputs = samples.slice(0, 12).map(inputOf);
      for (const input of inputs) expect(await pool.prepare(input, verp)).to.deep.equal(await prepare(input, verp));
      expect(pool.stats).to.include({ inWorker: inputs.length, inThread: 0, died: 0 });
    } finally {
      await pool.close();
    }
  });

  it('parses on the main thread a message a worker fails on, and keeps the worker', async () => {
    const pool = new ParsePool({ threads: 1, hooks: { throwOn: 'X-Test-Throw' } });
    try {
      const plain = inputOf(samples[0]!, 0);
      const bad = { ...plain, raw: Buffer.concat([Buffer.from('X-Test-Throw: 1\r\n'), plain.raw]) };
      expect(await pool.prepare(bad, verp)).to.deep.equal(await prepare(bad, verp));
      expect(pool.stats).to.include({ inWorker: 0, inThread: 1, started: 1, died: 0 });
      expect(await pool.prepare(plain, verp)).to.deep.equal(await prepare(plain, verp));
      expect(pool.stats).to.include({ inWorker: 1, inThread: 1, started: 1 });
    } finally {
      await pool.close();
    }
  });

  it('re-runs the messages of a worker that dies, and replaces the worker', async () => {
    const pool = new ParsePool({ threads: 1, hooks: { exitOn: 'X-Test-Exit' } });
    try {
      const inputs = samples.slice(0, 6).map(inputOf);
      const deadly = { ...inputs[0]!, raw: Buffer.concat([Buffer.from('X-Test-Exit: 1\r\n'), inputs[0]!.raw]) };
      // The deadly message and the one queued behind it in the same worker both come back.
      const results = await Promise.all([deadly, ...inputs].map((input) => pool.prepare(input, verp)));
      for (const [i, input] of [deadly, ...inputs].entries()) expect(results[i]).to.deep.equal(await prepare(input, verp));
      const stats = pool.stats;
      expect(stats.died).to.equal(1);
      expect(stats.started).to.equal(2);
      expect(stats.inThread).to.be.at.least(1);
      expect(stats.inWorker + stats.inThread).to.equal(inputs.length + 1);
      // The replacement works.
      const next = inputOf(samples[7]!, 7);
      expect(await pool.prepare(next, verp)).to.deep.equal(await prepare(next, verp));
      expect(pool.stats.inWorker).to.equal(stats.inWorker + 1);
    } finally {
      await pool.close();
    }
  });

  it('re-runs the messages of a worker terminated mid-job', async () => {
    const pool = new ParsePool({ threads: 1 });
    try {
      const input = inputOf(samples[3]!, 3);
      await pool.prepare(input, verp); // the worker is up
      const pending = pool.prepare(input, verp);
      void pool.workers[0]!.terminate();
      expect(await pending).to.deep.equal(await prepare(input, verp));
      expect(pool.stats).to.include({ died: 1, started: 2, inThread: 1 });
    } finally {
      await pool.close();
    }
  });

  it('finishes the messages in hand on close(), then runs later ones in-thread, leaving no worker', async () => {
    // Taken once mocha's own timer for this test is running.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = resources();
    const pool = new ParsePool({ threads: 2 });
    const inputs = samples.slice(0, 20).map(inputOf);
    const pending = inputs.map((input) => pool.prepare(input, verp));
    const workers = pool.workers;
    expect(workers).to.have.length(2);
    await pool.close();
    expect(ended(workers), 'workers ended').to.equal(true);
    expect(pool.workers).to.have.length(0);
    const results = await Promise.all(pending);
    for (const [i, input] of inputs.entries()) expect(results[i]).to.deep.equal(await prepare(input, verp));
    const { inWorker, inThread } = pool.stats;
    expect(inWorker, 'in workers before close').to.be.above(0);
    expect(inWorker + inThread).to.equal(inputs.length);
    const late = await pool.prepare(inputs[0]!, verp);
    expect(late).to.deep.equal(results[0]);
    expect(pool.stats).to.include({ inWorker, inThread: inThread + 1, died: 0 });
    expect(pool.workers).to.have.length(0);
    expect(resources()).to.deep.equal(before);
  });

  it('does not keep a process alive, and keeps it for a message in hand', () => {
    // No close(): the script ends once its message is parsed, the idle worker notwithstanding.
    const script = `
      import { readFileSync } from 'node:fs';
      import { ParsePool } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'services', 'parse-pool.ts')).href)};
      const pool = new ParsePool({ threads: 2 });
      const raw = readFileSync(${JSON.stringify(join(dir, samples[0]!))});
      pool.prepare({ raw, mailFrom: '', rcptTo: [], transport: 'smtp' }, ${JSON.stringify(verp)}).then((p) => console.log(p.report.kind, JSON.stringify(pool.stats)));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(run.error, 'ended by itself').to.equal(undefined);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/"inWorker":1/);
  });

  it('is closed with the app, and not used with a decoder chain of the caller', async () => {
    const db = createSqlite();
    try {
      const app = await createApp(testConfig(db.url, { ingest: { parseThreads: 2 } }), { logger: silentLogger });
      const pool = app.ingestor.parsePool!;
      const input = inputOf(samples[0]!, 0);
      // Closed with a message still being parsed: it is parsed and stored all the same.
      const stored = app.ingestor.ingest(input);
      const workers = pool.workers;
      expect(workers).to.have.length(1);
      await app.close();
      expect((await stored).outcome).to.equal('stored');
      expect(pool.stats).to.include({ inWorker: 1, inThread: 0 });
      expect(ended(workers), 'workers ended').to.equal(true);

      const mine: Decoder = { name: 'mine', decode: () => ({ kind: 'unknown', recipients: [] }) };
      const custom = await createApp(testConfig(db.url, { ingest: { parseThreads: 2 } }), { logger: silentLogger, parse: { decoders: [mine, ...DECODERS] } });
      try {
        expect(custom.ingestor.parsePool).to.equal(null);
        expect((await custom.ingestor.prepare(input)).report.format).to.equal('mine');
      } finally {
        await custom.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('reads ingest.parseThreads from REBOND_INGEST_PARSE_THREADS', () => {
    const env = { REBOND_VERP_SECRET: TEST_SECRET, REBOND_INGEST_PARSE_THREADS: '3' };
    expect(loadConfig({ skipDefaultsFile: true, env }).ingest.parseThreads).to.equal(3);
    expect(() => loadConfig({ skipDefaultsFile: true, env: { ...env, REBOND_INGEST_PARSE_THREADS: '-1' } })).to.throw(/ingest.parseThreads/);
  });
});
