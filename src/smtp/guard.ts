import ipaddr from 'ipaddr.js';

/**
 * Accounting per client address, for the listener's abuse limits: how many connections an
 * address has open, and how many of its recipients were refused recently (a sliding window).
 * Plain state with the clock passed in; memory stays bounded however many addresses connect.
 *
 * Refusals are counted per network (`networkOf`): an IPv6 host usually has a whole /64 to pick
 * addresses from, and one that probes return paths must not get a fresh allowance with each.
 * Connections are counted per address and, with a higher limit, per network (`subnetOf`: an
 * IPv4 /24 and an IPv6 /64 by default), so that neither a few dozen addresses of one network
 * nor the addresses of one IPv6 /64 can take every slot.
 */

export interface ClientLimits {
  readonly maxConnectionsPerIp: number;
  /** Connections from one network (no limit when absent). */
  readonly maxConnectionsPerNetwork?: number;
  readonly networkPrefixV4?: number;
  readonly networkPrefixV6?: number;
  readonly maxRefusedRcptPerIp: number;
  readonly refusedRcptWindowMs: number;
}

export type Admission = 'ok' | 'too-many-connections' | 'too-many-from-network' | 'too-many-refusals';

/** Addresses with recent refusals kept at most; past this the oldest entries are dropped. */
const MAX_TRACKED_ADDRESSES = 100_000;

export class ClientTracker {
  /** Open connections per address, and the network they were counted in when the first opened. */
  private readonly open = new Map<string, { n: number; network: string }>();
  private readonly openPerNetwork = new Map<string, number>();
  /** Times of recent refusals per address, oldest first, at most `maxRefusedRcptPerIp` kept. */
  private readonly refusals = new Map<string, number[]>();

  constructor(private limits: ClientLimits) {}

  update(limits: ClientLimits): void {
    this.limits = limits;
  }

  /** Counts a new connection from `ip`, unless the address is over one of its limits. */
  admit(ip: string, now: number): Admission {
    const admission = this.check(ip, now);
    if (admission !== 'ok') return admission;
    const entry = this.open.get(ip);
    const network = entry?.network ?? this.networkFor(ip);
    this.open.set(ip, { n: (entry?.n ?? 0) + 1, network });
    this.openPerNetwork.set(network, (this.openPerNetwork.get(network) ?? 0) + 1);
    return 'ok';
  }

  /** What `admit` would say now, without counting anything. */
  check(ip: string, now: number): Admission {
    if (this.blocked(ip, now)) return 'too-many-refusals';
    const entry = this.open.get(ip);
    if ((entry?.n ?? 0) >= this.limits.maxConnectionsPerIp) return 'too-many-connections';
    const inNetwork = this.openPerNetwork.get(entry?.network ?? this.networkFor(ip)) ?? 0;
    if (inNetwork >= (this.limits.maxConnectionsPerNetwork ?? Infinity)) return 'too-many-from-network';
    return 'ok';
  }

  /** Forgets a connection counted by `admit`. */
  release(ip: string): void {
    const entry = this.open.get(ip);
    if (!entry) return;
    if (entry.n <= 1) this.open.delete(ip);
    else entry.n--;
    const inNetwork = this.openPerNetwork.get(entry.network) ?? 0;
    if (inNetwork <= 1) this.openPerNetwork.delete(entry.network);
    else this.openPerNetwork.set(entry.network, inNetwork - 1);
  }

  connections(ip: string): number {
    return this.open.get(ip)?.n ?? 0;
  }

  /** Open connections from the network `ip` is counted in. */
  networkConnections(ip: string): number {
    return this.openPerNetwork.get(this.open.get(ip)?.network ?? this.networkFor(ip)) ?? 0;
  }

  private networkFor(ip: string): string {
    return subnetOf(ip, this.limits.networkPrefixV4 ?? 24, this.limits.networkPrefixV6 ?? 64);
  }

  /** Records a refused recipient; true when the address's network has now reached its limit. */
  refuse(address: string, now: number): boolean {
    const ip = networkOf(address);
    const recent = this.recent(ip, now);
    recent.push(now);
    const max = this.limits.maxRefusedRcptPerIp;
    if (recent.length > max) recent.splice(0, recent.length - max);
    this.refusals.delete(ip);
    this.refusals.set(ip, recent); // re-inserted: the map stays ordered by last refusal
    if (this.refusals.size > MAX_TRACKED_ADDRESSES) this.sweep(now);
    return recent.length >= max;
  }

  /** True while the address's network has `maxRefusedRcptPerIp` refusals within the window. */
  blocked(address: string, now: number): boolean {
    return this.recent(networkOf(address), now).length >= this.limits.maxRefusedRcptPerIp;
  }

  /** Networks with recent refusals (for tests and metrics). */
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

/**
 * What refusals are counted by: an IPv4 address (also when written as IPv4-mapped IPv6), or the
 * /64 an IPv6 address is in, as `2001:db8:1:2::/64`. Anything unparseable counts as itself.
 */
export function networkOf(address: string): string {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/%.*$/, ''));
  } catch {
    return address;
  }
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}

/**
 * The network connections are counted in: `192.0.2.0/24` for an IPv4 address (also written as
 * IPv4-mapped IPv6) with `v4Prefix` 24, `2001:db8:1:2::/64` for an IPv6 address with `v6Prefix`
 * 64. Anything unparseable counts as itself.
 */
export function subnetOf(address: string, v4Prefix: number, v6Prefix: number): string {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/%.*$/, ''));
  } catch {
    return address;
  }
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (parsed.kind() === 'ipv4') return `${ipaddr.IPv4.networkAddressFromCIDR(`${parsed.toString()}/${v4Prefix}`).toString()}/${v4Prefix}`;
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/${v6Prefix}`).toString()}/${v6Prefix}`;
}
