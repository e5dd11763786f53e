/**
 * Accounting per client address, for the listener's abuse limits: how many connections an
 * address has open, and how many of its recipients were refused recently (a sliding window).
 * Plain state with the clock passed in; memory stays bounded however many addresses connect.
 */

export interface ClientLimits {
  readonly maxConnectionsPerIp: number;
  readonly maxRefusedRcptPerIp: number;
  readonly refusedRcptWindowMs: number;
}

export type Admission = 'ok' | 'too-many-connections' | 'too-many-refusals';

/** Addresses with recent refusals kept at most; past this the oldest entries are dropped. */
const MAX_TRACKED_ADDRESSES = 100_000;

export class ClientTracker {
  private readonly open = new Map<string, number>();
  /** Times of recent refusals per address, oldest first, at most `maxRefusedRcptPerIp` kept. */
  private readonly refusals = new Map<string, number[]>();

  constructor(private limits: ClientLimits) {}

  update(limits: ClientLimits): void {
    this.limits = limits;
  }

  /** Counts a new connection from `ip`, unless the address is over one of its limits. */
  admit(ip: string, now: number): Admission {
    if (this.blocked(ip, now)) return 'too-many-refusals';
    const n = this.open.get(ip) ?? 0;
    if (n >= this.limits.maxConnectionsPerIp) return 'too-many-connections';
    this.open.set(ip, n + 1);
    return 'ok';
  }

  /** Forgets a connection counted by `admit`. */
  release(ip: string): void {
    const n = this.open.get(ip) ?? 0;
    if (n <= 1) this.open.delete(ip);
    else this.open.set(ip, n - 1);
  }

  connections(ip: string): number {
    return this.open.get(ip) ?? 0;
  }

  /** Records a refused recipient; true when the address has now reached its limit. */
  refuse(ip: string, now: number): boolean {
    const recent = this.recent(ip, now);
    recent.push(now);
    const max = this.limits.maxRefusedRcptPerIp;
    if (recent.length > max) recent.splice(0, recent.length - max);
    this.refusals.delete(ip);
    this.refusals.set(ip, recent); // re-inserted: the map stays ordered by last refusal
    if (this.refusals.size > MAX_TRACKED_ADDRESSES) this.sweep(now);
    return recent.length >= max;
  }

  /** True while the address has `maxRefusedRcptPerIp` refusals within the window. */
  blocked(ip: string, now: number): boolean {
    return this.recent(ip, now).length >= this.limits.maxRefusedRcptPerIp;
  }

  /** Addresses with recent refusals (for tests and metrics). */
  get trackedAddresses(): number {
    return this.refusals.size;
  }

  private recent(ip: string, now: number): number[] {
    const list = this.refusals.get(ip);
    if (!list) return [];
    const from = now - this.limits.refusedRcptWindowMs;
    let drop = 0;
    while (drop < list.length && list[drop]! <= from) drop++;
    if (drop > 0) list.splice(0, drop);
    if (list.length === 0) this.refusals.delete(ip);
    return list;
  }

  private sweep(now: number): void {
    for (const ip of [...this.refusals.keys()]) this.recent(ip, now);
    // Still too many: drop the addresses whose last refusal is oldest.
    for (const ip of this.refusals.keys()) {
      if (this.refusals.size <= MAX_TRACKED_ADDRESSES) break;
      this.refusals.delete(ip);
    }
  }
}
