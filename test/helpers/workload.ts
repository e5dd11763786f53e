import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { applySignal, type ContactSnapshot, type Signal } from '../../src/domain/contact-rules.js';
import { encodeReturnPath, type VerpSettings } from '../../src/domain/verp.js';
import { fingerprint } from '../../src/services/ingest.js';
import { makeDsn, type DsnRecipient } from './dsn.js';

/**
 * A reproducible workload of DSNs for an overlapping set of contacts and campaigns, designed so
 * that most of the final state does not depend on the order of arrival:
 *
 * - `hard`: hard bounces on 1-3 campaigns, delays, maybe a delivery notice -> bounced (hard);
 * - `soft2`: soft bounces on exactly 2 campaigns, repeated -> active, both campaigns in the row;
 * - `soft3`: soft bounces on exactly 3 campaigns, repeated -> bounced (soft), each campaign
 *   counted once;
 * - `soft5`: soft bounces on 4-6 campaigns -> bounced (soft), exactly 3 counted;
 * - `mixed`: soft bounces and delivery notices: the outcome depends on the order, legitimately.
 *
 * Some messages name two contacts (two envelope recipients, two report recipients); some are
 * auto-replies or bounces nobody can attribute. Deliveries: every message once, some twice to
 * two receivers at the same moment, some redelivered to the same receiver.
 */

export type Group = 'hard' | 'soft2' | 'soft3' | 'soft5' | 'mixed';
export type SignalKind = 'hard' | 'soft' | 'delay' | 'delivery';

export interface WorkloadContact {
  readonly email: string;
  readonly group: Group;
  /** Campaigns with a soft or hard bounce for this contact. */
  readonly bounceCampaigns: readonly string[];
}

export interface WorkloadMessage {
  readonly raw: Buffer;
  readonly rcptTo: readonly string[];
  readonly fingerprint: string;
}

export interface Delivery {
  readonly message: number;
  /** Receivers (indexes) the message is delivered to: two at once for a duplicate. */
  readonly receivers: readonly number[];
  /** Same receiver twice: the second is a redelivery (the remote retried). */
  readonly sequential: boolean;
}

export interface Workload {
  readonly seed: number;
  readonly contacts: readonly WorkloadContact[];
  readonly campaigns: readonly string[];
  readonly messages: readonly WorkloadMessage[];
  readonly deliveries: readonly Delivery[];
}

export interface WorkloadOptions {
  readonly seed: number;
  readonly verp: VerpSettings;
  readonly receivers: number;
  readonly domain: string;
  /** Contacts per group (default 8; `mixed` and `soft5` get three quarters). */
  readonly perGroup?: number;
  readonly campaigns?: number;
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sig {
  readonly email: string;
  readonly campaign: string;
  readonly kind: SignalKind;
}

const RECIPIENT: Record<SignalKind, (n: number) => Partial<DsnRecipient>> = {
  hard: (n) => ({ status: '5.1.1', diagnostic: `550 5.1.1 user unknown (${n})` }),
  soft: (n) => (n % 2 === 0 ? { status: '4.2.2', diagnostic: `452 4.2.2 mailbox over quota (${n})` } : { status: '5.2.2', diagnostic: `552 5.2.2 mailbox full (${n})` }),
  delay: (n) => ({ action: 'delayed', status: '4.4.1', diagnostic: `451 4.4.1 no answer from host (${n})` }),
  delivery: () => ({ action: 'delivered', status: '2.0.0', diagnostic: null }),
};

export function makeWorkload(o: WorkloadOptions): Workload {
  const rnd = prng(o.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  const per = o.perGroup ?? 8;
  const campaigns = Array.from({ length: o.campaigns ?? 12 }, (_, i) => `camp-${String(i + 1).padStart(2, '0')}`);
  const distinct = (n: number) => shuffle([...campaigns]).slice(0, n);

  const contacts: WorkloadContact[] = [];
  const sigs: Sig[] = [];
  const add = (group: Group, count: number, make: (email: string) => { bounces: string[]; extra: Sig[]; soft: boolean }) => {
    for (let i = 0; i < count; i++) {
      const email = `${group}-${i + 1}@example.org`;
      const { bounces, extra, soft } = make(email);
      contacts.push({ email, group, bounceCampaigns: bounces });
      for (const c of bounces) {
        const times = soft ? int(1, 3) : 1;
        for (let t = 0; t < times; t++) sigs.push({ email, campaign: c, kind: soft ? 'soft' : 'hard' });
      }
      sigs.push(...extra);
    }
  };
  const delays = (email: string, n: number): Sig[] => Array.from({ length: n }, () => ({ email, campaign: pick(campaigns), kind: 'delay' as const }));

  add('hard', per, (email) => {
    const extra = delays(email, int(0, 2));
    if (rnd() < 0.5) extra.push({ email, campaign: pick(campaigns), kind: 'delivery' });
    return { bounces: distinct(int(1, 3)), extra, soft: false };
  });
  add('soft2', per, (email) => ({ bounces: distinct(2), extra: delays(email, int(0, 2)), soft: true }));
  add('soft3', per, (email) => ({ bounces: distinct(3), extra: delays(email, int(0, 2)), soft: true }));
  add('soft5', Math.ceil((per * 3) / 4), (email) => ({ bounces: distinct(int(4, 6)), extra: delays(email, int(0, 1)), soft: true }));
  add('mixed', Math.ceil((per * 3) / 4), (email) => {
    const extra = delays(email, int(0, 1));
    for (let d = int(1, 2); d > 0; d--) extra.push({ email, campaign: pick(campaigns), kind: 'delivery' });
    return { bounces: distinct(int(3, 5)), extra, soft: true };
  });

  // Pair some signals of the same kind and campaign into two-recipient messages.
  shuffle(sigs);
  const groups: Sig[][] = [];
  const used = new Set<number>();
  for (let i = 0; i < sigs.length; i++) {
    if (used.has(i)) continue;
    used.add(i);
    const s = sigs[i]!;
    const group = [s];
    if (rnd() < 0.25) {
      const j = sigs.findIndex((t, k) => !used.has(k) && t.kind === s.kind && t.campaign === s.campaign && t.email !== s.email);
      if (j >= 0) {
        used.add(j);
        group.push(sigs[j]!);
      }
    }
    groups.push(group);
  }

  let n = 0;
  const messages: WorkloadMessage[] = groups.map((g) => {
    const rcptTo = g.map((s) => encodeReturnPath(o.verp, s.campaign, s.email));
    const raw = Buffer.from(makeDsn({ to: rcptTo[0]!, recipients: g.map((s) => ({ recipient: s.email, ...RECIPIENT[s.kind](++n) })), messageId: `w${o.seed}-${n}@mta.remote.example` }));
    return { raw, rcptTo, fingerprint: fingerprint(raw) };
  });
  // Messages that touch no contact: auto-replies and a bounce with a forged token.
  for (let i = 0; i < 4; i++) {
    const to = encodeReturnPath(o.verp, pick(campaigns), pick(contacts).email);
    const raw = Buffer.from(`From: someone@example.org\r\nTo: ${to}\r\nSubject: Out of office ${i}\r\nMessage-ID: <ooo-${o.seed}-${i}@example.org>\r\nAuto-Submitted: auto-replied\r\n\r\nAway until Monday.\r\n`);
    messages.push({ raw, rcptTo: [to], fingerprint: fingerprint(raw) });
  }
  for (let i = 0; i < 2; i++) {
    const forged = `bounce+camp-01-${'a'.repeat(13)}-${'b'.repeat(13)}@${o.domain}`;
    const raw = Buffer.from(makeDsn({ to: `postmaster@${o.domain}`, recipients: [{ recipient: `gone-${i}@example.org`, status: '5.1.1' }], originalHeaders: `Return-Path: <${forged}>\nSubject: x`, messageId: `forged-${o.seed}-${i}@mta.remote.example` }));
    messages.push({ raw, rcptTo: [`postmaster@${o.domain}`], fingerprint: fingerprint(raw) });
  }

  const deliveries: Delivery[] = shuffle(messages.map((_, i) => i)).map((message) => {
    const a = int(0, o.receivers - 1);
    const r = rnd();
    if (r < 0.2) return { message, receivers: [a, (a + int(1, o.receivers - 1)) % o.receivers], sequential: false };
    if (r < 0.25) return { message, receivers: [a, a], sequential: true };
    return { message, receivers: [a], sequential: false };
  });
  return { seed: o.seed, contacts, campaigns, messages, deliveries };
}

/** Everything a database holds after a run, in a form independent of ids and arrival order. */
export interface Snapshot {
  readonly messages: Map<string, { status: string; kind: string; duplicates: number }>;
  /** One line per bounce row, sorted; ids replaced by fingerprints and emails. */
  readonly bounces: string[];
  readonly contacts: Map<string, ContactSnap>;
  readonly campaigns: string[];
}

export interface ContactSnap {
  readonly id: number;
  readonly email: string;
  readonly emailKey: string;
  readonly state: string;
  readonly bouncedReason: string | null;
  readonly bounceId: number | null;
  readonly softCampaigns: string[];
  readonly complained: boolean;
  /** This contact's bounce rows, in id order. */
  readonly rows: Array<{ id: number; campaign: string | null; kind: string; type: string | null; counted: boolean; fingerprint: string }>;
  /** Its audit trail, in id order. */
  readonly events: Array<{ event: string; bounceId: number | null; from: string; to: string }>;
  readonly suppressions: Array<{ reason: string; bounceId: number | null }>;
}

export async function snapshot(knex: Knex): Promise<Snapshot> {
  const msgs: Array<{ id: number | string; fingerprint: string; status: string; kind: string; duplicates: number | string }> = await knex('messages').select('id', 'fingerprint', 'status', 'kind', 'duplicates');
  const fp = new Map(msgs.map((m) => [Number(m.id), m.fingerprint]));
  const contactRows: Array<Record<string, unknown>> = await knex('contacts').orderBy('id');
  const emailOf = new Map(contactRows.map((c) => [Number(c['id']), String(c['email'])]));
  const bounces: Array<Record<string, unknown>> = await knex('bounces').orderBy('id');
  const events: Array<Record<string, unknown>> = await knex('contact_events').orderBy('id');
  const suppressions: Array<Record<string, unknown>> = await knex('suppressions').orderBy(['contact_id', 'reason']);

  const contacts = new Map<string, ContactSnap>();
  for (const c of contactRows) {
    const id = Number(c['id']);
    contacts.set(String(c['email']), {
      id,
      email: String(c['email']),
      emailKey: String(c['email_key']),
      state: String(c['state']),
      bouncedReason: (c['bounced_reason'] as string | null) ?? null,
      bounceId: c['bounce_id'] === null ? null : Number(c['bounce_id']),
      softCampaigns: JSON.parse(String(c['soft_campaigns'])) as string[],
      complained: c['complained'] === true || c['complained'] === 1,
      rows: bounces
        .filter((b) => Number(b['contact_id']) === id && b['contact_id'] !== null)
        .map((b) => ({ id: Number(b['id']), campaign: (b['campaign_id'] as string | null) ?? null, kind: String(b['kind']), type: (b['type'] as string | null) ?? null, counted: b['counted'] === true || b['counted'] === 1, fingerprint: fp.get(Number(b['message_id']))! })),
      events: events.filter((e) => Number(e['contact_id']) === id).map((e) => ({ event: String(e['event']), bounceId: e['bounce_id'] === null ? null : Number(e['bounce_id']), from: String(e['from_state']), to: String(e['to_state']) })),
      suppressions: suppressions.filter((s) => Number(s['contact_id']) === id).map((s) => ({ reason: String(s['reason']), bounceId: s['bounce_id'] === null ? null : Number(s['bounce_id']) })),
    });
  }
  return {
    messages: new Map(msgs.map((m) => [m.fingerprint, { status: m.status, kind: m.kind, duplicates: Number(m.duplicates) }])),
    bounces: bounces
      .map((b) => [fp.get(Number(b['message_id'])), b['campaign_id'], b['contact_id'] === null ? null : emailOf.get(Number(b['contact_id'])), b['recipient'], b['kind'], b['action'], b['status_code'], b['type'], b['description'], b['diagnostic']].map(String).join('|'))
      .sort(),
    contacts,
    campaigns: (await knex('campaigns').orderBy('id').pluck('id')) as string[],
  };
}

/**
 * The serialisability check for one contact: replaying its bounce rows in the order the
 * database wrote them (row ids are taken while the contact is locked) through the pure rules
 * must give exactly the counted flags, audit trail, suppressions and final state stored. A lost
 * or doubled update breaks this whatever the order of arrival was.
 */
export function replayProblems(c: ContactSnap, softThreshold: number): string[] {
  const problems: string[] = [];
  let state: ContactSnapshot = { state: 'active', softCampaigns: [], complained: false };
  let bouncedReason: string | null = null;
  let bounceId: number | null = null;
  const events: ContactSnap['events'] = [];
  const suppressions = new Map<string, number | null>();
  for (const row of c.rows) {
    const signal: Signal | null = row.kind === 'bounce' ? { kind: 'bounce', type: row.type === 'soft' ? 'soft' : 'hard', campaignId: row.campaign ?? '' } : row.kind === 'delay' ? { kind: 'delay' } : row.kind === 'delivery' ? { kind: 'delivery' } : row.kind === 'complaint' ? { kind: 'complaint' } : null;
    const outcome = signal ? applySignal(state, signal, softThreshold) : null;
    if ((outcome?.counted ?? false) !== row.counted) problems.push(`bounce ${row.id} (${row.kind} ${row.campaign}) counted=${row.counted}, the rules say ${outcome?.counted ?? false}`);
    if (!outcome) continue;
    if (state.state !== 'bounced' && outcome.next.state === 'bounced') {
      bouncedReason = outcome.suppress;
      bounceId = row.id;
    }
    for (const e of outcome.events) events.push({ event: e.event, bounceId: row.id, from: e.fromState, to: e.toState });
    if (outcome.suppress && !suppressions.has(outcome.suppress)) suppressions.set(outcome.suppress, row.id);
    state = outcome.next;
  }
  const same = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${what}: stored ${JSON.stringify(actual)}, the rules say ${JSON.stringify(expected)}`);
  };
  same('state', c.state, state.state);
  same('soft_campaigns', c.softCampaigns, state.softCampaigns);
  same('bounced_reason', c.bouncedReason, bouncedReason);
  same('bounce_id', c.bounceId, bounceId);
  same('events', c.events, events);
  same('suppressions', c.suppressions, [...suppressions].map(([reason, id]) => ({ reason, bounceId: id })).sort((a, b) => a.reason.localeCompare(b.reason)));
  return problems.map((p) => `${c.email}: ${p}`);
}

/** The parts of a contact's outcome that the workload makes independent of arrival order. */
export function orderIndependent(c: ContactSnap, group: Group): Record<string, unknown> {
  const counted = c.rows.filter((r) => r.counted);
  const base = {
    email: c.email,
    emailKey: c.emailKey,
    rows: c.rows.map((r) => `${r.fingerprint}|${r.campaign}|${r.kind}|${r.type}`).sort(),
    complained: c.complained,
  };
  // A delivery notice between soft bounces starts the row again: everything else depends on the order.
  if (group === 'mixed') return base;
  return {
    ...base,
    state: c.state,
    bouncedReason: c.bouncedReason,
    softCampaigns: [...c.softCampaigns].sort(),
    suppressions: c.suppressions.map((s) => s.reason).sort(),
    events: c.events.map((e) => e.event).sort(),
    countedTotal: counted.length,
    // Which of several bounces of one campaign counted depends on the order; how many did does not.
    countedCampaigns: group === 'soft2' || group === 'soft3' ? counted.map((r) => r.campaign).sort() : null,
  };
}

export function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}
