/**
 * Caps the log lines one remote network can cause, so that a client hammering a limit or
 * probing addresses cannot flood the logs (the metrics still count everything): at most
 * `perWindow` lines of a kind per key within `windowMs`. The last line let through says so
 * (`throttled`); the first line of a later window says how many were held back (`suppressed`).
 * Memory stays bounded: windows that are over are forgotten.
 */
export interface LogDecision {
  readonly log: boolean;
  /** Lines of this key held back in its previous window (reported with this line). */
  readonly suppressed: number;
  /** This is the last line let through in this window. */
  readonly throttled: boolean;
}

/** Keys kept at most before the windows that are over are swept. */
const MAX_KEYS = 10_000;

export class LogThrottle {
  private readonly windows = new Map<string, { start: number; lines: number; held: number }>();

  constructor(
    private readonly perWindow = 20,
    private readonly windowMs = 60_000,
  ) {}

  admit(key: string, now: number): LogDecision {
    let w = this.windows.get(key);
    let suppressed = 0;
    if (w && now - w.start >= this.windowMs) {
      suppressed = w.held;
      this.windows.delete(key);
      w = undefined;
    }
    if (!w) {
      w = { start: now, lines: 0, held: 0 };
      this.windows.set(key, w); // in the order windows start: the sweep stops at the first live one
      if (this.windows.size > MAX_KEYS) this.sweep(now);
    }
    if (w.lines >= this.perWindow) {
      w.held++;
      return { log: false, suppressed: 0, throttled: false };
    }
    w.lines++;
    return { log: true, suppressed, throttled: w.lines === this.perWindow };
  }

  /** Keys with a window open (for tests). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [key, w] of this.windows) {
      if (now - w.start < this.windowMs) break;
      this.windows.delete(key);
    }
    // All live (a flood of distinct networks within one window): drop the oldest.
    for (const key of this.windows.keys()) {
      if (this.windows.size <= MAX_KEYS) break;
      this.windows.delete(key);
    }
  }
}
