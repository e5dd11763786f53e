import { TEST_DOMAIN, TEST_SECRET } from '../../test/helpers/config.js';
import type { VerpSettings } from '../../src/domain/verp.js';

/** Small helpers shared by the load benchmarks' command lines. */

export const VERP: VerpSettings = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };

export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not "${value}"`);
  return n;
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

const DOMAINS = ['gmail.example', 'yahoo.example', 'outlook.example', 'orange.example', 'free.example', 'gmx.example', 'corp-a.example', 'laposte.example'];

/** `count` contact addresses, `prefix` keeping sets of different runs apart. */
export function contactEmails(count: number, prefix = 'contact'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}@${DOMAINS[i % DOMAINS.length]}`);
}

/** `count` campaign ids: `camp-01`... (`prefix` keeps sets of different runs apart). */
export function campaignIds(count: number, prefix = 'camp'): string[] {
  const width = String(count).length < 2 ? 2 : String(count).length;
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, '0')}`);
}

/**
 * The settings every benchmarked receiver gets on top of the defaults: the test VERP secret and
 * domain, and per-address and per-network connection limits above what the generator opens from
 * 127.0.0.1 (the defaults, 20 and 50, are meant for remote servers; here every session comes
 * from one address).
 */
export function receiverEnv(maxConnectionsFromLoopback: number): Record<string, string> {
  return {
    REBOND_VERP_SECRET: TEST_SECRET,
    REBOND_VERP_DOMAINS: TEST_DOMAIN,
    REBOND_SMTP_MAX_CONNECTIONS_PER_IP: String(Math.max(20, maxConnectionsFromLoopback)),
    REBOND_SMTP_MAX_CONNECTIONS_PER_NETWORK: String(Math.max(50, maxConnectionsFromLoopback)),
  };
}
