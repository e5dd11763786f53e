/**
 * The listener's idle rule. smtp-server's idle timeout restarts with every byte the client
 * sends, so a client that says NOOP (or RSET, HELP, VRFY, EHLO again) every 30 s keeps a slot
 * for as long as it likes. Here a session's idle clock restarts only when mail moves: bytes of a
 * message arriving in DATA, and a message answered. A session whose clock passes
 * `smtp.socketTimeoutMs` is closed, unless a message of it is being received or stored.
 *
 * And when the listener is near full (more than `NEAR_FULL` of `smtp.maxClients` sessions), a
 * new connection closes the session that has been idle longest, if it has been idle for at least
 * a tenth of `smtp.socketTimeoutMs`: slots held by clients that move no mail go to new senders.
 */

/** The share of `smtp.maxClients` above which a new connection closes the longest idle session. */
export const NEAR_FULL = 0.9;

export class IdleClock {
  /** When mail last moved (or the session opened), in ms. */
  last: number;
  private timer: NodeJS.Timeout | null = null;

  /**
   * `timeoutMs` is read at each check (a reload may change it); `busy` says a message is being
   * received or stored; `expire` closes the session.
   */
  constructor(
    private readonly timeoutMs: () => number,
    private readonly busy: () => boolean,
    private readonly expire: () => void,
    now = Date.now(),
  ) {
    this.last = now;
    this.arm(timeoutMs());
  }

  /** Mail moved: the clock starts again. */
  progress(now = Date.now()): void {
    this.last = now;
  }

  /** Milliseconds since mail last moved. */
  idleFor(now = Date.now()): number {
    return now - this.last;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  // One timer per session, re-armed when it fires rather than at each progress.
  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(1, ms));
    this.timer.unref();
  }

  private check(): void {
    const timeout = this.timeoutMs();
    const left = this.last + timeout - Date.now();
    if (left > 0) return this.arm(left);
    if (this.busy()) return this.arm(timeout);
    this.timer = null;
    this.expire();
  }
}

export interface Evictable {
  readonly clock: IdleClock;
  /** True while a message of the session is being received or stored. */
  busy(): boolean;
  /** True once the session was picked: it is not picked again. */
  readonly evicted: boolean;
}

/**
 * The session to close so that a new one gets in: when more than `NEAR_FULL` of `maxClients`
 * are open, the one idle longest, if idle for at least a tenth of `timeoutMs`; otherwise null.
 */
export function evictionCandidate<T extends Evictable>(sessions: Iterable<T>, open: number, maxClients: number, timeoutMs: number, now = Date.now()): T | null {
  if (open <= Math.floor(maxClients * NEAR_FULL)) return null;
  let oldest: T | null = null;
  for (const s of sessions) {
    if (s.evicted || s.clock.idleFor(now) < timeoutMs / 10 || s.busy()) continue;
    if (!oldest || s.clock.last < oldest.clock.last) oldest = s;
  }
  return oldest;
}
