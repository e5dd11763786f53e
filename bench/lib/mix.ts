import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeReturnPath, type VerpSettings } from '../../src/domain/verp.js';
import { parseMessage } from '../../src/dsn/parse.js';
import type { ReportKind } from '../../src/dsn/types.js';
import { identify } from '../../src/services/identify.js';
import { makeDsn } from '../../test/helpers/dsn.js';
import { prng } from '../../test/helpers/workload.js';
import type { Prepared } from './generator.js';

/**
 * The messages a load run sends, built before the clock starts.
 *
 * - `samples`: the real reports in samples/ whose expectation says they are a bounce, a delay
 *   or a complaint about a recipient. In each, that recipient's address is replaced everywhere
 *   in the raw text by a generated contact's address, and the envelope recipient is the signed
 *   return path for (campaign, contact), so the message reaches that contact's rules. A sample
 *   is kept only when its rewritten form, parsed and identified exactly as the receiver does,
 *   names the contact (an address in a base64 body cannot be rewritten this way, for instance).
 * - `dsn`: a synthetic RFC 3464 report of about 1 KB (hard, soft, delay).
 *
 * Each message gets an `X-Bench-Id` header line, so that no two messages have the same bytes
 * (the receiver would count the second as a redelivery). Contacts and campaigns are drawn with
 * a seeded generator.
 */

export type MixKind = 'samples' | 'dsn';

export interface MixOptions {
  readonly kind: MixKind;
  readonly count: number;
  readonly contacts: readonly string[];
  readonly campaigns: readonly string[];
  readonly verp: VerpSettings;
  readonly seed?: number;
  /** Written in each X-Bench-Id (make it differ between runs on one database). */
  readonly tag?: string;
  readonly samplesDir?: string;
}

export interface Mix {
  readonly messages: Prepared[];
  /** The samples used, by name, with the kind they report. */
  readonly used: ReadonlyArray<{ name: string; kind: ReportKind }>;
  readonly skipped: ReadonlyArray<{ name: string; reason: string }>;
  readonly bytes: number;
}

const SAMPLES_DIR = join(import.meta.dirname, '..', '..', 'samples');
const USABLE: ReadonlySet<string> = new Set(['bounce', 'delay', 'complaint']);

interface Template {
  readonly name: string;
  readonly kind: ReportKind;
  /** CRLF, dot-stuffed, without the final `.` line. */
  readonly text: string;
  readonly address: RegExp;
}

interface Expected {
  readonly kind: string;
  readonly recipients: ReadonlyArray<{ recipient: string | null; kind: string }>;
}

/** CRLF line endings and dot-stuffing, as a message travels in DATA. */
export function toWire(text: string): string {
  const crlf = text.replace(/\r\n|\r|\n/g, '\r\n');
  return crlf.replace(/\r\n\./g, '\r\n..').replace(/^\./, '..');
}

function prepared(rcpt: readonly string[], text: string): Prepared {
  return {
    rcpt: rcpt.map((r) => Buffer.from(`RCPT TO:<${r}>\r\n`)),
    data: Buffer.from(text.endsWith('\r\n') ? `${text}.\r\n` : `${text}\r\n.\r\n`, 'latin1'),
  };
}

/** The received form of a wire text (dot-stuffing undone), for the check parse. */
function unstuff(wire: string): Buffer {
  return Buffer.from(wire.replace(/^\.\./, '.').replace(/\r\n\.\./g, '\r\n.'), 'latin1');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Loads the usable samples: each rewritten for `probe` and checked as the receiver would. */
export async function loadTemplates(verp: VerpSettings, probe: { email: string; campaign: string }, dir = SAMPLES_DIR): Promise<{ templates: Template[]; skipped: Array<{ name: string; reason: string }> }> {
  const templates: Template[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  const returnPath = encodeReturnPath(verp, probe.campaign, probe.email);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.expected.json')).sort()) {
    const name = file.slice(0, -'.expected.json'.length);
    const expected = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Expected;
    const target = expected.recipients.find((r) => r.recipient && USABLE.has(r.kind));
    if (!target?.recipient) {
      skipped.push({ name, reason: `${expected.kind}: no bounce, delay or complaint about a recipient` });
      continue;
    }
    const text = toWire(readFileSync(join(dir, `${name}.eml`)).toString('latin1'));
    const address = new RegExp(escape(target.recipient), 'gi');
    if (!address.test(text)) {
      skipped.push({ name, reason: `${target.recipient} is not in the raw text (encoded)` });
      continue;
    }
    const rewritten = text.replace(address, probe.email);
    const report = await parseMessage(unstuff(rewritten), { mailFrom: '' });
    const [found] = identify(verp, [returnPath], report, null);
    if (found?.email !== probe.email || found.report?.kind !== target.kind) {
      skipped.push({ name, reason: `rewritten, it is not attributed to the contact (${found?.report?.kind ?? 'no report'}, ${found?.email ?? 'no address'})` });
      continue;
    }
    templates.push({ name, kind: target.kind as ReportKind, text, address });
  }
  return { templates, skipped };
}

const DSN_KINDS = [
  { status: '5.1.1', diagnostic: '550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table' },
  { status: '5.1.1', diagnostic: '550-5.1.1 The email account that you tried to reach does not exist.' },
  { status: '4.2.2', diagnostic: '452 4.2.2 <%s>: Mailbox full: user is over quota' },
  { status: '5.2.2', diagnostic: '552 5.2.2 Mailbox size limit exceeded' },
  { status: '5.7.1', diagnostic: '550 5.7.1 Service unavailable, Client host blocked using Spamhaus' },
  { status: '4.4.1', diagnostic: '451 4.4.1 No answer from host', action: 'delayed' },
] as const;

const ORIGINAL_HEADERS = [
  'Return-Path: <%r>',
  'From: "Sender News" <news@sender.example>',
  'To: <%s>',
  'Subject: Our November news',
  'Date: Sat, 28 Nov 2026 07:59:50 +0000',
  'Message-ID: <%i@news.sender.example>',
].join('\n');

/** Builds `count` messages of the chosen mix. */
export async function buildMix(o: MixOptions): Promise<Mix> {
  const rnd = prng(o.seed ?? 20261204);
  const tag = o.tag ?? 'run';
  const messages: Prepared[] = [];
  let bytes = 0;
  const returnPaths = new Map<string, string>();
  const returnPath = (campaign: string, email: string) => {
    const key = `${campaign} ${email}`;
    let rp = returnPaths.get(key);
    if (!rp) returnPaths.set(key, (rp = encodeReturnPath(o.verp, campaign, email)));
    return rp;
  };
  const draw = () => ({ email: o.contacts[Math.floor(rnd() * o.contacts.length)]!, campaign: o.campaigns[Math.floor(rnd() * o.campaigns.length)]! });

  if (o.kind === 'dsn') {
    for (let i = 0; i < o.count; i++) {
      const { email, campaign } = draw();
      const rp = returnPath(campaign, email);
      const k = DSN_KINDS[i % DSN_KINDS.length]!;
      const raw = makeDsn({
        to: rp,
        recipients: [{ recipient: email, status: k.status, diagnostic: k.diagnostic.replace('%s', email), ...('action' in k ? { action: k.action } : {}) }],
        messageId: `${tag}-${i}@mta.remote.example`,
        boundary: `=_bench_${tag}_${i}`,
        originalHeaders: ORIGINAL_HEADERS.replace('%r', rp).replace('%s', email).replace('%i', `${tag}.${i}`),
      });
      const m = prepared([rp], toWire(`X-Bench-Id: ${tag}-${i}\r\n${raw}`));
      bytes += m.data.length;
      messages.push(m);
    }
    return { messages, used: [{ name: 'synthetic RFC 3464', kind: 'bounce' }], skipped: [], bytes };
  }

  const { templates, skipped } = await loadTemplates(o.verp, { email: o.contacts[0]!, campaign: o.campaigns[0]! }, o.samplesDir);
  if (templates.length === 0) throw new Error('no usable sample');
  for (let i = 0; i < o.count; i++) {
    const t = templates[i % templates.length]!;
    const { email, campaign } = draw();
    const m = prepared([returnPath(campaign, email)], `X-Bench-Id: ${tag}-${i}\r\n${t.text.replace(t.address, email)}`);
    bytes += m.data.length;
    messages.push(m);
  }
  return { messages, used: templates.map((t) => ({ name: t.name, kind: t.kind })), skipped, bytes };
}
