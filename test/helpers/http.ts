import type { App } from '../../src/app.js';
import { makeArf } from './arf.js';
import { makeDsn } from './dsn.js';

/** HTTP clients and a seeded report data set for the HTTP tests. */

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any;
}

/** A request to the test server; `token` becomes `Authorization: Bearer <token>`. */
export async function request(base: string, path: string, o: { method?: string; token?: string | null; body?: unknown; headers?: Record<string, string>; form?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers['authorization'] = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  } else if (o.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  }
  const res = await fetch(`${base}${path}`, { method: o.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Parses Prometheus text into `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export interface Seeded {
  /** Contacts of the direct campaign that bounced, by address: [code, type]. */
  readonly bounced: Map<string, [string, 'hard' | 'soft']>;
}

const CODES: ReadonlyArray<[string, 'hard' | 'soft']> = [
  ['5.1.1', 'hard'],
  ['4.2.2', 'soft'],
  ['5.2.2', 'soft'],
  ['5.7.1', 'hard'],
  ['5.4.5', 'soft'],
  ['5.1.10', 'hard'],
];

/**
 * A small, realistic data set made the way production makes it: the send pipeline registers an
 * automation (two campaigns) and a direct campaign and records its sends, then DSNs and a
 * complaint come back through the ingestor (the same path as an SMTP arrival).
 *
 * - `spring-sale` (direct, "Spring sale"): sent to `sent` contacts user0..@*.example; the first
 *   `bounces` of them bounce with the codes above in turn, one day apart per ten; the next one
 *   gets a delay, the one after complains.
 * - automation `welcome` ("Welcome series"): `welcome-1` sent to w0..w3 (w0 hard 5.1.1),
 *   `welcome-2` sent to w0..w4 (w1 soft 4.2.2).
 */
export async function seedReports(app: App, o: { sent?: number; bounces?: number } = {}): Promise<Seeded> {
  const sent = o.sent ?? 20;
  const bounces = o.bounces ?? 7;
  const domains = ['gmail.example', 'orange.example', 'corp.example'];
  const address = (i: number) => `user${i}@${domains[i % domains.length]}`;
  await app.pipeline.registerAutomation({ id: 'welcome', name: 'Welcome series' });
  await app.pipeline.registerCampaign({ id: 'welcome-1', name: 'Welcome 1', automationId: 'welcome' });
  await app.pipeline.registerCampaign({ id: 'welcome-2', name: 'Welcome 2', automationId: 'welcome' });
  await app.pipeline.registerCampaign({ id: 'spring-sale', name: 'Spring sale' });
  const receipts = await app.pipeline.recordSends(Array.from({ length: sent }, (_, i) => ({ campaignId: 'spring-sale', email: address(i), sentAt: '2026-11-02T08:00:00.000Z' })));
  const w1 = await app.pipeline.recordSends([0, 1, 2, 3].map((i) => ({ campaignId: 'welcome-1', email: `w${i}@corp.example`, sentAt: '2026-11-01T08:00:00.000Z' })));
  const w2 = await app.pipeline.recordSends([0, 1, 2, 3, 4].map((i) => ({ campaignId: 'welcome-2', email: `w${i}@corp.example`, sentAt: '2026-11-03T08:00:00.000Z' })));

  const deliver = async (to: string, raw: string, at: Date) => {
    await app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [to], transport: 'smtp', receivedAt: at });
  };
  const bounced = new Map<string, [string, 'hard' | 'soft']>();
  for (let i = 0; i < bounces; i++) {
    const [code, type] = CODES[i % CODES.length]!;
    const r = receipts[i]!;
    const at = new Date(Date.UTC(2026, 10, 3 + Math.floor(i / 10), 9, i % 60));
    await deliver(r.returnPath, makeDsn({ to: r.returnPath, recipients: [{ recipient: r.email, status: code, diagnostic: `550 ${code} remote says no for ${r.email}` }] }), at);
    bounced.set(r.email, [code, type]);
  }
  const delayed = receipts[bounces];
  if (delayed) await deliver(delayed.returnPath, makeDsn({ to: delayed.returnPath, recipients: [{ recipient: delayed.email, action: 'delayed', status: '4.4.7' }] }), new Date('2026-11-04T10:00:00Z'));
  const complaint = receipts[bounces + 1];
  if (complaint) await app.ingestor.ingest({ raw: Buffer.from(makeArf({ to: complaint.returnPath, recipient: complaint.email })), mailFrom: '', rcptTo: [complaint.returnPath], transport: 'smtp', receivedAt: new Date('2026-11-04T11:00:00Z') });
  await deliver(w1[0]!.returnPath, makeDsn({ to: w1[0]!.returnPath, recipients: [{ recipient: 'w0@corp.example', status: '5.1.1' }] }), new Date('2026-11-01T12:00:00Z'));
  await deliver(w2[1]!.returnPath, makeDsn({ to: w2[1]!.returnPath, recipients: [{ recipient: 'w1@corp.example', status: '4.2.2' }] }), new Date('2026-11-03T12:00:00Z'));
  return { bounced };
}
