import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { packageRoot, type Config } from '../config.js';
import { base32 } from '../domain/verp.js';
import { errorText, type Logger } from '../logger.js';
import type { ReceiverRecord, ReceiverStore } from '../storage/receivers.js';

/**
 * The receivers sharing one database (one per MX host) must agree on what a valid return path
 * is and on the rules: otherwise a bounce is refused by one MX and accepted by another, or a
 * contact is bounced after 3 soft bounces on one host and 5 on another. Each receiver records
 * its settings in the database (secrets as fingerprints, never the secret), and `rebond check`
 * compares them.
 */

/** How often a running receiver refreshes its row, and when it counts as gone. */
export const HEARTBEAT_MS = 60_000;
export const LIVE_WITHIN_MS = 3 * HEARTBEAT_MS;

export interface FleetSettings {
  readonly verp: { readonly secret: string; readonly previousSecrets: readonly string[]; readonly domains: readonly string[]; readonly prefix: string };
  readonly rules: { readonly softThreshold: number };
  readonly smtp: { readonly maxMessageBytes: number; readonly maxRecipients: number };
  readonly database: { readonly poolMax: number; readonly statementTimeoutMs: number; readonly acquireTimeoutMs: number };
}

/**
 * A fingerprint of a VERP secret that can be shown and compared: 13 base32 characters of an
 * HMAC keyed with the secret, over a fixed text. It tells no more about the secret than any
 * return path does.
 */
export function secretFingerprint(secret: string): string {
  return base32(createHmac('sha256', secret).update('rebond-secret-fingerprint-1').digest(), 13);
}

export function fleetSettings(config: Config): FleetSettings {
  return {
    verp: {
      secret: secretFingerprint(config.verp.secret),
      previousSecrets: config.verp.previousSecrets.map(secretFingerprint),
      domains: [...config.verp.domains],
      prefix: config.verp.prefix,
    },
    rules: { softThreshold: config.rules.softThreshold },
    smtp: { maxMessageBytes: config.smtp.maxMessageBytes, maxRecipients: config.smtp.maxRecipients },
    database: { poolMax: config.database.poolMax, statementTimeoutMs: config.database.statementTimeoutMs, acquireTimeoutMs: config.database.acquireTimeoutMs },
  };
}

let version: string | null = null;
export function packageVersion(): string {
  if (version === null) {
    try {
      version = String((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

export interface Participant {
  /** How the problems name it: a receiver's name, or "this configuration". */
  readonly label: string;
  readonly version: string;
  readonly schema: string;
  readonly settings: Partial<FleetSettings>;
}

export interface Problem {
  readonly level: 'error' | 'warning';
  readonly message: string;
}

export interface FleetReport {
  readonly live: readonly ReceiverRecord[];
  /** Receivers that did not say they stopped and have not been seen for LIVE_WITHIN_MS. */
  readonly silent: readonly ReceiverRecord[];
  readonly stopped: readonly ReceiverRecord[];
  readonly problems: readonly Problem[];
}

export function asParticipant(r: ReceiverRecord): Participant {
  return { label: r.name, version: r.version, schema: r.schema, settings: r.settings as Partial<FleetSettings> };
}

/**
 * Compares the live receivers (and `self`, the configuration of the host running the check,
 * when given) with one another. Errors are disagreements that lose or misjudge bounces;
 * warnings are differences an upgrade or a secret rotation explains.
 */
export function compareFleet(receivers: readonly ReceiverRecord[], now: Date, self: Participant | null, maxConnections: number | null = null): FleetReport {
  const stopped = receivers.filter((r) => r.stoppedAt !== null);
  const running = receivers.filter((r) => r.stoppedAt === null);
  const live = running.filter((r) => now.getTime() - Date.parse(r.seenAt) <= LIVE_WITHIN_MS);
  const silent = running.filter((r) => !live.includes(r));
  const problems: Problem[] = [];
  const error = (message: string) => problems.push({ level: 'error', message });
  const warning = (message: string) => problems.push({ level: 'warning', message });

  for (const r of silent) warning(`${r.name} has not been seen since ${r.seenAt} (it stopped without saying so, or cannot reach the database)`);

  const all = [...(self ? [self] : []), ...live.map(asParticipant)];
  const differ = (what: string, value: (p: Participant) => unknown, report: (m: string) => void) => {
    const groups = new Map<string, string[]>();
    for (const p of all) {
      const key = JSON.stringify(value(p) ?? null);
      groups.set(key, [...(groups.get(key) ?? []), p.label]);
    }
    if (groups.size > 1) report(`${what} differs: ${[...groups].map(([v, labels]) => `${v} on ${labels.join(', ')}`).join('; ')}`);
  };
  differ('verp.domains', (p) => (p.settings.verp?.domains ? [...p.settings.verp.domains].sort() : null), error);
  differ('verp.prefix', (p) => p.settings.verp?.prefix, error);
  differ('rules.softThreshold', (p) => p.settings.rules?.softThreshold, error);
  differ('smtp.maxMessageBytes', (p) => p.settings.smtp?.maxMessageBytes, warning);
  differ('version', (p) => p.version, warning);
  differ('schema', (p) => p.schema, warning);

  // Every receiver must accept return paths signed with any secret another one signs with.
  const current = new Map(all.map((p) => [p.label, p.settings.verp?.secret ?? null]));
  let rotation = false;
  let refused = false;
  for (const p of all) {
    const accepts = new Set([p.settings.verp?.secret, ...(p.settings.verp?.previousSecrets ?? [])]);
    for (const [label, secret] of current) {
      if (label === p.label || secret === null) continue;
      if (!accepts.has(secret)) {
        refused = true;
        error(`${p.label} refuses return paths signed with the secret of ${label} (verp.secret fingerprint ${secret})`);
      } else if (secret !== p.settings.verp?.secret) rotation = true;
    }
  }
  if (rotation && !refused) warning('verp.secret differs, but each one is accepted everywhere (a rotation in progress?)');

  if (maxConnections !== null) {
    const pools = live.reduce((n, r) => n + Number((r.settings as Partial<FleetSettings>).database?.poolMax ?? 0), 0);
    if (pools > maxConnections - 10) warning(`the receivers may open ${pools} connections and PostgreSQL allows ${maxConnections} (lower database.poolMax or raise max_connections)`);
  }
  return { live, silent, stopped, problems };
}

/**
 * A running receiver's row: written when it starts listening, refreshed every HEARTBEAT_MS,
 * marked stopped when it stops. A database that cannot be reached only costs a log line.
 */
export class ReceiverRegistry {
  private timer: NodeJS.Timeout | null = null;
  private record: ReceiverRecord;
  private readonly log: Logger;

  constructor(
    private readonly store: ReceiverStore,
    config: Config,
    address: { readonly address: string; readonly port: number },
    schema: string,
    logger: Logger,
  ) {
    const now = new Date().toISOString();
    const listen = `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    this.record = {
      name: `${config.smtp.hostname} ${listen}`,
      hostname: hostname(),
      address: listen,
      pid: process.pid,
      version: packageVersion(),
      schema,
      settings: fleetSettings(config) as unknown as Record<string, unknown>,
      startedAt: now,
      seenAt: now,
      stoppedAt: null,
    };
    this.log = logger.child('fleet');
  }

  get name(): string {
    return this.record.name;
  }

  async start(): Promise<void> {
    await this.write('RECEIVER_REGISTER_FAILED', 'warn');
    // Rewritten (not just touched) each time, so a row that could not be written at start, or
    // was deleted by an operator, comes back.
    this.timer = setInterval(() => void this.write('RECEIVER_HEARTBEAT_FAILED', 'debug'), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** After a configuration reload: the row shows the settings now in force. */
  async update(config: Config): Promise<void> {
    this.record = { ...this.record, settings: fleetSettings(config) as unknown as Record<string, unknown> };
    await this.write('RECEIVER_HEARTBEAT_FAILED', 'warn');
  }

  private async write(code: string, level: 'warn' | 'debug'): Promise<void> {
    try {
      await this.store.register({ ...this.record, seenAt: new Date().toISOString() });
    } catch (err) {
      this.log.log(level, code, 'could not record this receiver in the database (rebond check lists it after the next heartbeat)', { error: errorText(err) });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.store.stopped(this.record.name, new Date().toISOString());
    } catch (err) {
      this.log.log('debug', 'RECEIVER_HEARTBEAT_FAILED', 'could not mark this receiver stopped', { error: errorText(err) });
    }
  }
}
