import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { VerpSettings } from '../domain/verp.js';
import type { ParsedReport } from '../dsn/types.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Target } from './identify.js';
import { fingerprint } from './fingerprint.js';
import { prepare, type IngestInput, type Prepared } from './ingest.js';

/**
 * A fixed pool of worker threads for the database-free part of ingest (MIME parsing, the
 * decoders, the fingerprint, identification), which otherwise takes about a quarter of the
 * main thread's time under load. Results are those of `prepare()` with the built-in decoder
 * chain (a chain of the caller's own is made of functions, which cannot reach a thread).
 *
 * Nothing handed to the pool is lost: a job a worker fails on is parsed on the main thread; the
 * jobs of a worker that dies are parsed on the main thread, and the worker is replaced; after
 * `close()` (or when workers keep dying before they are ready) every job runs on the main thread.
 * Jobs wait in a queue when every worker is busy: its length is bounded by the messages in hand,
 * which the SMTP limits bound. Idle workers do not keep the process alive.
 *
 * With a time limit (`timeoutMs`), a job a worker holds longer than that ends the worker: the
 * message is answered as `parse_timeout` (stored raw, parsed again by `rebond replay`), logged
 * once (PARSE_TIMEOUT), never parsed on the main thread; the other jobs of that worker are
 * handed to a worker again, each alone in its worker (so that an innocent message never takes
 * the blame), and the worker is replaced. Messages of at most `inlineMaxBytes` are parsed on the
 * main thread (small enough that their parse, linear in their size, is short).
 */

/** A message to parse, as posted to a worker (the raw bytes are a copy, transferred). */
export interface ParseJob {
  readonly id: number;
  readonly raw: Uint8Array;
  readonly mailFrom: string | null;
  readonly rcptTo: readonly string[];
  readonly verp: VerpSettings;
}

export type ParseReply =
  | { readonly ready: true }
  | { readonly id: number; readonly ok: true; readonly report: ParsedReport; readonly fingerprint: string; readonly targets: Target[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** Failures a worker produces on demand when a message contains the marker (tests only). */
export interface WorkerHooks {
  readonly throwOn?: string;
  readonly exitOn?: string;
  /** A message containing this never finishes parsing (tests of the time limit). */
  readonly hangOn?: string;
}

export interface ParsePoolOptions {
  /** Worker threads (at least 1). */
  readonly threads: number;
  readonly logger?: Logger;
  /** How long `close()` waits for the jobs in workers before it terminates them. */
  readonly closeGraceMs?: number;
  readonly hooks?: WorkerHooks;
  /** Longest a message may take in a worker (`ingest.parseTimeoutMs`; 0: no limit). */
  readonly timeoutMs?: number;
  /** Messages of at most this many bytes are parsed on the main thread (default 0: none). */
  readonly inlineMaxBytes?: number;
}

/** What the pool did so far (for tests and diagnostics). */
export interface ParsePoolStats {
  /** Jobs whose result came from a worker. */
  readonly inWorker: number;
  /** Jobs parsed on the main thread instead (failure, dead worker, pool closed or disabled). */
  readonly inThread: number;
  /** Workers started, replacements included. */
  readonly started: number;
  /** Workers that ended while the pool was open. */
  readonly died: number;
  /** Jobs that took longer than the time limit (answered as parse_timeout). */
  readonly timedOut: number;
}

interface Job {
  readonly input: IngestInput;
  readonly verp: VerpSettings;
  readonly resolve: (p: Prepared) => void;
  readonly reject: (err: unknown) => void;
  /** Held by a worker that went over the time limit with other jobs: runs alone from now on. */
  alone?: boolean;
  timer?: NodeJS.Timeout;
}

interface Thread {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  ready: boolean;
  /** Ended for going over the time limit: its exit hands nothing to the main thread. */
  timedOut?: boolean;
}

/**
 * Without parse threads, messages up to this size are parsed on the main thread: their parse is
 * linear in their size and takes a few milliseconds at worst (test/dsn/linear.test.ts).
 */
export const INLINE_PARSE_MAX_BYTES = 16 * 1024;

/** Jobs in a worker at once: the next one is there when it answers the current one. */
const DEPTH = 2;
/** Workers that end before they are ready, in a row, after which the pool parses in-thread. */
const MAX_START_FAILURES = 3;

export class ParsePool {
  private readonly size: number;
  private readonly logger: Logger;
  private readonly closeGraceMs: number;
  private readonly hooks: WorkerHooks;
  private readonly threads: Thread[] = [];
  private readonly queue: Job[] = [];
  private readonly idleWaiters: Array<() => void> = [];
  private nextId = 1;
  private startFailures = 0;
  private disabled = false;
  private closing: Promise<void> | null = null;
  private counts = { inWorker: 0, inThread: 0, started: 0, died: 0, timedOut: 0 };
  private readonly timeoutMs: number;
  private readonly inlineMaxBytes: number;

  constructor(options: ParsePoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError('a parse pool needs at least one thread');
    this.size = options.threads;
    this.logger = (options.logger ?? silentLogger).child('parse-pool');
    this.closeGraceMs = options.closeGraceMs ?? 5000;
    this.hooks = options.hooks ?? {};
    this.timeoutMs = options.timeoutMs ?? 0;
    this.inlineMaxBytes = options.inlineMaxBytes ?? 0;
  }

  get stats(): ParsePoolStats {
    return { ...this.counts };
  }

  /** Workers alive now (tests terminate one to check the recovery). */
  get workers(): readonly Worker[] {
    return this.threads.map((t) => t.worker);
  }

  /** `prepare(input, verp)` with the built-in decoder chain, on a worker thread when one is available. */
  prepare(input: IngestInput, verp: VerpSettings): Promise<Prepared> {
    if (this.closing || this.disabled || input.raw.length <= this.inlineMaxBytes) return this.inThread(input, verp);
    return new Promise<Prepared>((resolve, reject) => {
      this.queue.push({ input, verp, resolve, reject });
      this.pump();
    });
  }

  /**
   * Stops the pool: queued jobs run on the main thread, jobs in workers get `closeGraceMs` to
   * finish (then run on the main thread), and the workers are terminated. Later jobs run on
   * the main thread.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const job of this.queue.splice(0)) this.fallback(job);
      if (this.inFlight() > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.closeGraceMs)))]);
        clearTimeout(timer);
      }
      await Promise.all(this.threads.map((t) => t.worker.terminate()));
    })();
    return this.closing;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let thread: Thread | null;
      try {
        thread = this.freeThread();
      } catch (err) {
        // No thread could be started (out of memory, a missing module): parse in-thread meanwhile.
        this.logger.log('error', 'PARSE_WORKER_ERROR', 'could not start a parse worker', { error: (err as Error)?.message ?? String(err) });
        if (++this.startFailures >= MAX_START_FAILURES) this.disable();
        if (this.threads.length === 0) for (const job of this.queue.splice(0)) this.fallback(job);
        return;
      }
      if (!thread) return;
      // A job suspected of a timeout runs in an empty worker, and nothing joins it there.
      const i = thread.jobs.size === 0 ? 0 : this.queue.findIndex((j) => !j.alone);
      if (i < 0) return;
      this.send(thread, this.queue.splice(i, 1)[0]!);
    }
  }

  private disable(): void {
    if (this.disabled) return;
    this.disabled = true;
    this.logger.log('error', 'PARSE_POOL_DISABLED', `parse workers fail to start (${this.startFailures} in a row); parsing on the main thread from now on`);
    for (const job of this.queue.splice(0)) this.fallback(job);
  }

  /** The least busy worker with room for a job, a new one while the pool is not full, or null. */
  private freeThread(): Thread | null {
    let best: Thread | null = null;
    for (const t of this.threads) if (t.jobs.size < DEPTH && !t.timedOut && ![...t.jobs.values()].some((j) => j.alone) && (!best || t.jobs.size < best.jobs.size)) best = t;
    if (best && best.jobs.size === 0) return best;
    if (this.threads.length < this.size) return this.spawn();
    return best;
  }

  private send(thread: Thread, job: Job): void {
    const id = this.nextId++;
    // A copy of the bytes, transferred (not cloned again): the original stays with the input.
    const raw = new Uint8Array(job.input.raw.byteLength);
    raw.set(job.input.raw);
    const { prefix, domains, secret, previousSecrets } = job.verp;
    const message: ParseJob = { id, raw, mailFrom: job.input.mailFrom, rcptTo: [...job.input.rcptTo], verp: { prefix, domains: [...domains], secret, previousSecrets: previousSecrets ? [...previousSecrets] : undefined } };
    try {
      thread.worker.postMessage(message, [raw.buffer]);
    } catch (err) {
      this.logger.log('warn', 'PARSE_WORKER_FAILED', 'could not hand a message to a parse worker; parsing it on the main thread', { error: (err as Error)?.message ?? String(err) });
      this.fallback(job);
      return;
    }
    thread.jobs.set(id, job);
    // The clock starts once the worker is ready (starting one is not the message's time).
    if (thread.ready) this.startClock(thread, id, job);
    // Held while a job is in it, so that the process waits for the answer.
    thread.worker.ref();
  }

  private startClock(thread: Thread, id: number, job: Job): void {
    if (this.timeoutMs > 0 && !job.timer) job.timer = setTimeout(() => this.onTimeout(thread, id), this.timeoutMs);
  }

  /**
   * A job went over the time limit: its worker is ended. Alone in the worker, the job is the
   * culprit and is answered as timed out; with others, each of them runs again alone.
   */
  private onTimeout(thread: Thread, id: number): void {
    const job = thread.jobs.get(id);
    if (!job || thread.timedOut) return;
    thread.timedOut = true;
    const jobs = [...thread.jobs.values()];
    thread.jobs.clear();
    for (const j of jobs) {
      clearTimeout(j.timer);
      j.timer = undefined;
    }
    void thread.worker.terminate();
    if (jobs.length === 1) {
      this.counts.timedOut++;
      const { input } = job;
      this.logger.log('warn', 'PARSE_TIMEOUT', `a message took longer than ${this.timeoutMs} ms to parse; stored unparsed as parse_timeout (rebond replay parses it again)`, { bytes: input.raw.length, mailFrom: input.mailFrom, remoteAddress: input.remoteAddress ?? null });
      job.resolve(timedOutPrepared(input, this.timeoutMs));
    } else {
      for (const j of jobs) j.alone = true;
      this.queue.unshift(...jobs);
    }
    this.settled();
    this.pump();
  }

  private spawn(): Thread {
    const worker = startWorker(this.hooks);
    const thread: Thread = { worker, jobs: new Map(), ready: false };
    this.threads.push(thread);
    this.counts.started++;
    worker.unref();
    worker.on('message', (reply: ParseReply) => this.onReply(thread, reply));
    // An uncaught exception ends the worker: 'exit' follows and takes care of its jobs.
    worker.on('error', (err) => this.logger.log('error', 'PARSE_WORKER_ERROR', 'a parse worker failed', { error: String(err?.stack ?? err).slice(0, 2000) }));
    // A reply that cannot be read names no job: end the worker, its jobs are parsed here.
    worker.on('messageerror', () => void worker.terminate());
    worker.on('exit', (code) => this.onExit(thread, code));
    return thread;
  }

  private onReply(thread: Thread, reply: ParseReply): void {
    if ('ready' in reply) {
      thread.ready = true;
      this.startFailures = 0;
      for (const [id, job] of thread.jobs) this.startClock(thread, id, job);
      this.logger.log('debug', 'PARSE_WORKER_READY', 'a parse worker is ready', { threadId: thread.worker.threadId });
      return;
    }
    const job = thread.jobs.get(reply.id);
    if (!job) return;
    clearTimeout(job.timer);
    thread.jobs.delete(reply.id);
    if (thread.jobs.size === 0) thread.worker.unref();
    if (reply.ok) {
      this.counts.inWorker++;
      job.resolve({ input: job.input, fingerprint: reply.fingerprint, receivedAt: (job.input.receivedAt ?? new Date()).toISOString(), report: reply.report, targets: reply.targets });
    } else {
      this.logger.log('warn', 'PARSE_WORKER_FAILED', 'a parse worker failed on a message; parsing it on the main thread', { error: reply.error.slice(0, 2000) });
      this.fallback(job);
    }
    this.settled();
    this.pump();
  }

  private onExit(thread: Thread, code: number): void {
    this.threads.splice(this.threads.indexOf(thread), 1);
    const orphans = [...thread.jobs.values()];
    for (const j of orphans) clearTimeout(j.timer);
    thread.jobs.clear();
    if (thread.timedOut && !this.closing) {
      // Ended by the time limit: its jobs were answered or queued again already.
      this.respawn();
    } else if (!this.closing) {
      this.counts.died++;
      if (!thread.ready) this.startFailures++;
      this.logger.log('error', 'PARSE_WORKER_EXITED', 'a parse worker ended; its messages are parsed on the main thread and the worker is replaced', { code, messages: orphans.length, ready: thread.ready });
      if (this.startFailures >= MAX_START_FAILURES) this.disable();
      else this.respawn();
    }
    for (const job of orphans) this.fallback(job);
    this.settled();
    this.pump();
  }

  private respawn(): void {
    try {
      this.spawn();
    } catch (err) {
      this.logger.log('error', 'PARSE_WORKER_ERROR', 'could not start a parse worker', { error: (err as Error)?.message ?? String(err) });
      if (++this.startFailures >= MAX_START_FAILURES || this.threads.length === 0) this.disable();
    }
  }

  private settled(): void {
    if (this.inFlight() > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private inFlight(): number {
    let n = 0;
    for (const t of this.threads) n += t.jobs.size;
    return n;
  }

  private fallback(job: Job): void {
    this.inThread(job.input, job.verp).then(job.resolve, job.reject);
  }

  private inThread(input: IngestInput, verp: VerpSettings): Promise<Prepared> {
    this.counts.inThread++;
    return prepare(input, verp);
  }
}

/** What a message that went over the parse time limit is stored as: its raw bytes, unparsed. */
export function timedOutPrepared(input: IngestInput, timeoutMs: number): Prepared {
  const report: ParsedReport = {
    format: 'none',
    kind: 'unknown',
    recipients: [],
    reportingMta: null,
    originalEnvelopeId: null,
    arrivalDate: null,
    messageId: null,
    from: null,
    subject: '',
    originalHeaders: [],
    originalMessageIds: [],
    problems: [`parsing took longer than ${timeoutMs} ms: stored unparsed (rebond replay parses it again)`],
  };
  return { input, fingerprint: fingerprint(input.raw), receivedAt: (input.receivedAt ?? new Date()).toISOString(), report, targets: [], timedOut: true };
}

/**
 * A worker running parse-worker: the compiled module next to this one, or, when this module
 * runs from its TypeScript source (tests, under tsx), the source loaded through tsx's loader,
 * which a worker thread does not inherit from the main thread.
 */
function startWorker(hooks: WorkerHooks): Worker {
  const options = { workerData: hooks, name: 'rebond-parse' };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parse-worker.js', import.meta.url), options);
  const source = new URL('./parse-worker.ts', import.meta.url).href;
  // tsx's ESM API (its `import` export, which a CommonJS resolve would not pick) registers the hooks.
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
