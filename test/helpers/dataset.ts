import { encodeReturnPath, type VerpSettings } from '../../src/domain/verp.js';
import { makeArf } from './arf.js';
import { makeDsn } from './dsn.js';

/**
 * A realistic data set, generated from a seed: automations and direct campaigns, a few
 * thousand contacts over a dozen recipient domains (one of which blocks us), sends, and the
 * messages that came back (hard and soft bounces, soft retries, delays, deliveries,
 * complaints, bounces for contacts without a recorded send, bounces for unknown contacts,
 * remote retries of the same message). Each message says how it reaches rebond. The expected
 * report figures are computed here, from what was generated, independently of rebond's SQL.
 */

export type Channel = 'ingest' | 'smtp' | 'mbox' | 'maildir' | 'old-parser';
export type Outcome = { kind: 'bounce'; type: 'hard' | 'soft'; code: string } | { kind: 'delay' | 'delivery' | 'complaint'; code: string | null };

export interface GeneratedMessage {
  readonly id: number;
  readonly campaignId: string;
  /** The contact the message is about; null for a report about an address nobody registered. */
  readonly email: string | null;
  readonly to: string;
  readonly raw: string;
  readonly outcome: Outcome;
  readonly channel: Channel;
  readonly date: Date;
  /** Delivered twice by the remote server (the same bytes). */
  readonly redelivered: boolean;
}

export interface Expected {
  sentTo: number;
  recordedSends: number;
  bounced: number;
  hard: number;
  soft: number;
  delayed: number;
  complained: number;
  delivered: number;
  bounceRecords: number;
  unknownContactRecords: number;
}

export interface Dataset {
  readonly automations: ReadonlyArray<{ id: string; name: string; campaigns: string[] }>;
  readonly direct: readonly string[];
  readonly campaigns: readonly string[];
  readonly contacts: readonly string[];
  readonly sends: ReadonlyArray<{ campaignId: string; email: string; sentAt: Date }>;
  readonly messages: readonly GeneratedMessage[];
  readonly expected: Map<string, Expected>;
  /** Per campaign: bounced contact -> [code, type] of the record a report shows. */
  readonly bouncedList: Map<string, Map<string, [string, 'hard' | 'soft']>>;
  readonly domains: Map<string, Omit<Expected, 'recordedSends' | 'delivered' | 'bounceRecords' | 'unknownContactRecords'> & { codes: Map<string, number> }>;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOMAINS: ReadonlyArray<[string, number]> = [
  ['gmail.example', 28],
  ['yahoo.example', 14],
  ['outlook.example', 14],
  ['orange.example', 9],
  ['free.example', 8],
  ['blocker.example', 8],
  ['corp-a.example', 6],
  ['corp-b.example', 5],
  ['laposte.example', 4],
  ['gmx.example', 2],
  ['icloud.example', 1.5],
  ['tiny.example', 0.5],
];
const HARD: ReadonlyArray<[string, number]> = [
  ['5.1.1', 6],
  ['5.1.2', 1],
  ['5.0.0', 1],
  ['5.7.1', 1],
];
const SOFT: ReadonlyArray<[string, number]> = [
  ['4.2.2', 4],
  ['5.2.2', 3],
  ['5.4.5', 1],
  ['5.3.1', 1],
];

export function generateDataset(verp: VerpSettings, options: { contacts?: number; seed?: number } = {}): Dataset {
  const random = mulberry32(options.seed ?? 20261128);
  const pick = <T>(weighted: ReadonlyArray<[T, number]>): T => {
    const total = weighted.reduce((n, [, w]) => n + w, 0);
    let r = random() * total;
    for (const [v, w] of weighted) if ((r -= w) < 0) return v;
    return weighted[weighted.length - 1]![0];
  };

  const automations = [
    { id: 'welcome', name: 'Welcome series', campaigns: ['welcome-1', 'welcome-2', 'welcome-3', 'welcome-4'] },
    { id: 'winback', name: 'Win-back', campaigns: ['winback-1', 'winback-2', 'winback-3'] },
    { id: 'onboarding', name: 'Onboarding', campaigns: ['onboard-1', 'onboard-2', 'onboard-3'] },
  ];
  const direct = ['news-1', 'news-2', 'news-3', 'news-4', 'promo-black-friday'];
  const campaigns = [...automations.flatMap((a) => a.campaigns), ...direct];
  const contacts = Array.from({ length: options.contacts ?? 2000 }, (_, i) => `user${i}@${pick(DOMAINS)}`);

  const sends: Array<{ campaignId: string; email: string; sentAt: Date }> = [];
  const messages: GeneratedMessage[] = [];
  let id = 0;
  const base = Date.UTC(2026, 9, 1);
  const channelFor = (outcome: Outcome): Channel => {
    if (outcome.kind === 'complaint') return 'ingest';
    return pick<Channel>([
      ['ingest', 55],
      ['smtp', 5],
      ['mbox', 20],
      ['maildir', 10],
      ['old-parser', 10],
    ]);
  };
  const message = (campaignId: string, email: string | null, outcome: Outcome, date: Date, reportAbout?: string) => {
    const tokenEmail = email ?? `ghost${id}@unknown.example`;
    const to = encodeReturnPath(verp, campaignId, tokenEmail);
    const recipient = reportAbout ?? tokenEmail;
    const raw =
      outcome.kind === 'complaint'
        ? makeArf({ to, recipient, date })
        : makeDsn({
            to,
            date,
            recipients: [
              {
                recipient,
                action: outcome.kind === 'bounce' ? 'failed' : outcome.kind === 'delay' ? 'delayed' : 'delivered',
                status: outcome.code,
                diagnostic: outcome.kind === 'delivery' ? null : `${outcome.code?.startsWith('4') ? 452 : 550} ${outcome.code} (${id}) remote says no`,
              },
            ],
          });
    messages.push({ id: id++, campaignId, email, to, raw, outcome, channel: channelFor(outcome), date, redelivered: random() < 0.05 });
  };

  campaigns.forEach((campaignId, c) => {
    const sentAt = new Date(base + c * 3 * 86_400_000);
    for (const email of contacts) {
      if (random() >= 0.4) continue;
      sends.push({ campaignId, email, sentAt });
      const at = new Date(sentAt.getTime() + Math.floor(random() * 86_400_000));
      const blocked = email.endsWith('@blocker.example') && random() < 0.3;
      const r = random();
      if (blocked) message(campaignId, email, { kind: 'bounce', type: 'hard', code: '5.7.1' }, at);
      else if (r < 0.012) message(campaignId, email, { kind: 'bounce', type: 'hard', code: pick(HARD) }, at);
      else if (r < 0.037) {
        const code = pick(SOFT);
        message(campaignId, email, { kind: 'bounce', type: 'soft', code }, at);
        // A remote server that tries again and bounces again: another message, same campaign.
        if (random() < 0.2) message(campaignId, email, { kind: 'bounce', type: 'soft', code }, new Date(at.getTime() + 3_600_000));
      } else if (r < 0.045) message(campaignId, email, { kind: 'delay', code: '4.4.7' }, at);
      else if (r < 0.048) message(campaignId, email, { kind: 'complaint', code: null }, at);
      else if (r < 0.052) message(campaignId, email, { kind: 'delivery', code: '2.0.0' }, at);
    }
  });
  // Bounces for contacts the campaign has no recorded send for: they count as sent to.
  for (let i = 0; i < 15; i++) {
    const campaignId = campaigns[Math.floor(random() * campaigns.length)]!;
    const email = contacts[Math.floor(random() * contacts.length)]!;
    if (sends.some((s) => s.campaignId === campaignId && s.email === email)) continue;
    message(campaignId, email, i % 3 === 0 ? { kind: 'bounce', type: 'hard', code: '5.1.1' } : { kind: 'bounce', type: 'soft', code: '4.2.2' }, new Date(base + 50 * 86_400_000 + i * 60_000));
  }
  // Reports about a forwarded address for a token whose contact nobody registered.
  for (let i = 0; i < 5; i++) message('news-1', null, { kind: 'bounce', type: 'hard', code: '5.1.1' }, new Date(base + 51 * 86_400_000 + i * 60_000), `forwarded${i}@elsewhere.example`);

  return { automations, direct, campaigns, contacts, sends, messages, ...expectations(campaigns, sends, messages) };
}

function expectations(campaigns: readonly string[], sends: Dataset['sends'], messages: readonly GeneratedMessage[]) {
  const expected = new Map<string, Expected>();
  const bouncedList = new Map<string, Map<string, [string, 'hard' | 'soft']>>();
  const domains: Dataset['domains'] = new Map();
  for (const campaignId of campaigns) {
    const sent = new Set(sends.filter((s) => s.campaignId === campaignId).map((s) => s.email));
    const mine = messages.filter((m) => m.campaignId === campaignId);
    const known = mine.filter((m) => m.email !== null);
    const withKind = (kind: Outcome['kind']) => new Set(known.filter((m) => m.outcome.kind === kind).map((m) => m.email!));
    const bounced = withKind('bounce');
    const hard = new Set(known.filter((m) => m.outcome.kind === 'bounce' && m.outcome.type === 'hard').map((m) => m.email!));
    const reached = new Set([...sent, ...known.map((m) => m.email!)]);
    const delayed = withKind('delay');
    const complained = withKind('complaint');
    expected.set(campaignId, {
      sentTo: reached.size,
      recordedSends: sent.size,
      bounced: bounced.size,
      hard: hard.size,
      soft: bounced.size - hard.size,
      delayed: delayed.size,
      complained: complained.size,
      delivered: withKind('delivery').size,
      bounceRecords: mine.filter((m) => m.outcome.kind === 'bounce').length,
      unknownContactRecords: mine.filter((m) => m.email === null).length,
    });
    // A report shows, per bounced contact, its first hard bounce, else its first soft one.
    const list = new Map<string, [string, 'hard' | 'soft']>();
    for (const m of [...known].sort((a, b) => a.date.getTime() - b.date.getTime())) {
      if (m.outcome.kind !== 'bounce') continue;
      const current = list.get(m.email!);
      if (!current || (current[1] === 'soft' && m.outcome.type === 'hard')) list.set(m.email!, [m.outcome.code, m.outcome.type]);
    }
    bouncedList.set(campaignId, list);
    for (const email of reached) {
      const domain = email.slice(email.indexOf('@') + 1);
      const d = domains.get(domain) ?? { sentTo: 0, bounced: 0, hard: 0, soft: 0, delayed: 0, complained: 0, codes: new Map<string, number>() };
      d.sentTo++;
      if (bounced.has(email)) d.bounced++;
      if (hard.has(email)) d.hard++;
      else if (bounced.has(email)) d.soft++;
      if (delayed.has(email)) d.delayed++;
      if (complained.has(email)) d.complained++;
      domains.set(domain, d);
    }
    for (const m of known) {
      if (m.outcome.kind !== 'bounce') continue;
      const d = domains.get(m.email!.slice(m.email!.indexOf('@') + 1))!;
      d.codes.set(m.outcome.code, (d.codes.get(m.outcome.code) ?? 0) + 1);
    }
  }
  return { expected, bouncedList, domains };
}
