import { parentPort, workerData } from 'node:worker_threads';
import { parseMessage } from '../dsn/parse.js';
import { fingerprint } from './fingerprint.js';
import { identify } from './identify.js';
import type { ParseJob, ParseReply, WorkerHooks } from './parse-pool.js';

/**
 * A parse worker thread (see parse-pool.ts): runs the database-free part of ingest, with the
 * built-in decoder chain, for the jobs the main thread posts, and answers each one. A job that
 * throws is answered with its error, so that the main thread parses that message itself.
 */

const port = parentPort;
if (!port) throw new Error('parse-worker.js runs as a worker thread (see parse-pool.ts)');
const hooks = (workerData ?? {}) as WorkerHooks;

port.on('message', (job: ParseJob) => {
  void run(job).then((reply) => {
    try {
      port.postMessage(reply);
    } catch (err) {
      // A result that cannot be copied back: the main thread parses the message instead.
      port.postMessage({ id: job.id, ok: false, error: String((err as Error)?.message ?? err) } satisfies ParseReply);
    }
  });
});

async function run(job: ParseJob): Promise<ParseReply> {
  try {
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    applyHooks(raw);
    const report = await parseMessage(raw, { mailFrom: job.mailFrom });
    return { id: job.id, ok: true, report, fingerprint: fingerprint(raw), targets: identify(job.verp, job.rcptTo, report, raw) };
  } catch (err) {
    return { id: job.id, ok: false, error: String((err as Error)?.stack ?? err) };
  }
}

/** Failures on demand, for the tests of the pool's recovery (never set by the receiver). */
function applyHooks(raw: Buffer): void {
  if (hooks.exitOn && raw.includes(hooks.exitOn)) process.exit(70);
  if (hooks.throwOn && raw.includes(hooks.throwOn)) throw new Error('parse worker: failure requested by a test hook');
  if (hooks.hangOn && raw.includes(hooks.hangOn)) for (;;);
}

port.postMessage({ ready: true } satisfies ParseReply);
