import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../logger.js';

/** Between the two collections: longer than the 5 s over which V8 measures the allocation rate. */
export const SETTLE_MS = 6000;

export interface HeapTrimOptions {
  /** Quiet time after the last message before collecting; 0 turns the trim off. */
  readonly quietMs: number;
  /** Messages handed in so far (a counter that only grows). */
  readonly handled: () => number;
  readonly logger: Logger;
  /** The full collection (found with `fullCollection` by default). */
  readonly collect?: (() => void) | null;
  readonly now?: () => number;
}

/**
 * Gives back, once a burst is over, the memory the burst made the JavaScript heap grow to.
 *
 * Under load V8 lets its heap grow (to about twice what it holds) and keeps the pages after
 * the load has gone: a receiver that took a burst stays at its peak while idle, and V8's own
 * memory reducer returns them only sometimes, tens of seconds later. Once no message has come
 * in for `quietMs` after some did, a full collection returns the old generation's pages; a
 * second one `SETTLE_MS` later, still without messages, finds the allocation rate low and
 * also shrinks the young generation (V8 measures that rate over its last 5 seconds). Measured
 * with 200 idle sessions after 6,000 messages: 197 MiB resident -> 139 -> 114. Twice per
 * burst at most, on an idle receiver; a message in between starts over.
 */
export class HeapTrim {
  private timer: NodeJS.Timeout | null = null;
  private seen: number;
  private lastChange: number;
  /** Messages came in and no collection yet, or the first one ran (at `collectedAt`). */
  private stage: 'idle' | 'burst' | 'collected' = 'idle';
  private collectedAt = 0;
  private readonly collect: (() => void) | null;
  private readonly now: () => number;

  constructor(private readonly options: HeapTrimOptions) {
    this.collect = options.collect === undefined ? fullCollection() : options.collect;
    this.now = options.now ?? Date.now;
    this.seen = options.handled();
    this.lastChange = this.now();
  }

  start(): void {
    if (this.timer || this.options.quietMs <= 0) return;
    if (!this.collect) {
      this.options.logger.log('warn', 'HEAP_TRIM_UNAVAILABLE', 'no full garbage collection available: memory grown under load is returned only by V8 itself');
      return;
    }
    // Unref'd: it never keeps the process alive. A check is a comparison of two numbers.
    this.timer = setInterval(() => this.check(), Math.min(Math.max(250, this.options.quietMs / 4), 5000));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Collects when messages came in and then none for `quietMs`, and again `SETTLE_MS` later
   * when still none came; true when it collected.
   */
  check(): boolean {
    if (this.options.quietMs <= 0 || !this.collect) return false;
    const handled = this.options.handled();
    const now = this.now();
    if (handled !== this.seen) {
      this.seen = handled;
      this.lastChange = now;
      this.stage = 'burst';
      return false;
    }
    if (this.stage === 'burst' && now - this.lastChange >= this.options.quietMs) {
      this.stage = 'collected';
      this.collectedAt = now;
      this.run(1);
      return true;
    }
    if (this.stage === 'collected' && now - this.collectedAt >= SETTLE_MS) {
      this.stage = 'idle';
      this.run(2);
      return true;
    }
    return false;
  }

  private run(pass: 1 | 2): void {
    const before = process.memoryUsage();
    const started = performance.now();
    this.collect?.();
    const after = process.memoryUsage();
    const mib = (n: number) => Math.round(n / 1048576);
    this.options.logger.log('debug', 'HEAP_TRIMMED', `quiet after a burst: full garbage collection (${pass} of 2)`, {
      pass,
      ms: Math.round(performance.now() - started),
      heapTotalMiB: [mib(before.heapTotal), mib(after.heapTotal)],
      heapUsedMiB: [mib(before.heapUsed), mib(after.heapUsed)],
    });
  }
}

/**
 * V8's full garbage collection: `gc` when node runs with `--expose-gc`, otherwise the same
 * function taken from a fresh context after turning the flag on (the main context's globals
 * stay as they are). Null when neither works.
 */
export function fullCollection(): (() => void) | null {
  found ??= find();
  return found.gc;
}

/** Looked for once per process (a context is not free). */
let found: { gc: (() => void) | null } | undefined;

function find(): { gc: (() => void) | null } {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return { gc: existing as () => void };
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return { gc: typeof gc === 'function' ? (gc as () => void) : null };
  } catch {
    return { gc: null };
  }
}
