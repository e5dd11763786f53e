import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeReturnPath } from '../../src/domain/verp.js';
import { TEST_DOMAIN, TEST_SECRET } from '../helpers/config.js';
import { makeDsn } from '../helpers/dsn.js';
import { PLACES, RUNS, inject, placesOf, runLine, runLines } from '../dsn/hostile.js';

/**
 * Hostile messages for the whole path (SMTP DATA -> parse -> store), generated with fast-check
 * from a seed: random bytes, mutated DSNs, malformed MIME, deep nesting, many parts, invalid
 * charsets and transfer encodings, enormous or numerous headers, endless lines, binary and
 * compressed payloads. Each case names its kind, so a failure says what broke.
 */

export interface FuzzCase {
  readonly kind: string;
  readonly raw: Buffer;
}

const verp = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };
export const FUZZ_RCPT = encodeReturnPath(verp, 'fuzz', 'target@example.org');

const CONTENT_TYPES = [
  'multipart/report; report-type=delivery-status',
  'multipart/report; report-type=feedback-report',
  'multipart/report',
  'multipart/mixed',
  'multipart/alternative',
  'multipart/related',
  'message/delivery-status',
  'message/global-delivery-status',
  'message/rfc822',
  'message/global',
  'message/partial; id="x"; number=1; total=2',
  'message/external-body; access-type=local-file',
  'text/rfc822-headers',
  'message/feedback-report',
  'text/plain',
  'text/html',
  'application/octet-stream',
  'application/gzip',
  'multipart/',
  '/',
  '',
  ';;;=',
  'text/plain; charset=',
];
const CHARSETS = ['utf-8', 'us-ascii', 'iso-8859-1', 'utf-7', 'utf-16', 'utf-32', 'iso-2022-jp', 'gb18030', 'x-unknown-charset', '', '"', 'utf-8"; charset="latin1', 'ks_c_5601-1987', 'windows-1252', 'x'.repeat(300)];
const ENCODINGS = ['7bit', '8bit', 'binary', 'base64', 'quoted-printable', 'x-uuencode', 'uuencode', 'gzip', '', 'base64 quoted-printable', 'BASE64', 'x'.repeat(100)];

/** A small deterministic generator for builders that need many choices from one seed. */
function prng(seed: number): { int(max: number): number; pick<T>(list: readonly T[]): T; bytes(n: number): Buffer; chance(p: number): boolean } {
  let a = seed >>> 0 || 1;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (max) => Math.floor(next() * max),
    pick: (list) => list[Math.floor(next() * list.length)]!,
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
    chance: (p) => next() < p,
  };
}

type Rand = ReturnType<typeof prng>;

function header(r: Rand): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mta.remote.example>',
    `To: ${FUZZ_RCPT}`,
    `Subject: ${r.pick(['Undelivered Mail Returned to Sender', '=?utf-8?B?###?=', '=?x-bogus?Q?=ZZ=?=', '=?utf-8?B?' + Buffer.from('échec').toString('base64') + '?=', 'Delivery Status Notification (Failure)', '\u0000\u0001'])}`,
    `Message-ID: <${r.int(1e9)}@fuzz.example>`,
    'MIME-Version: 1.0',
  ].join('\r\n');
}

function body(r: Rand, encoding: string, size: number): Buffer {
  const plain = r.chance(0.5) ? r.bytes(size) : Buffer.from(`Status: 5.1.${r.int(10)}\r\nAction: failed\r\nFinal-Recipient: rfc822; target@example.org\r\n`.repeat(Math.max(1, size >> 6)));
  switch (encoding.toLowerCase()) {
    case 'base64':
      // Valid, truncated, or with junk in it.
      return r.chance(0.5) ? Buffer.from(plain.toString('base64').replace(/.{76}/g, '$&\r\n')) : Buffer.concat([Buffer.from(plain.toString('base64').slice(0, r.int(size + 1))), Buffer.from('!!@@==*'), r.bytes(r.int(40))]);
    case 'quoted-printable':
      return Buffer.from(plain.toString('latin1').replace(/[^ -~]/g, (c) => (r.chance(0.7) ? `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : '=ZZ')) + (r.chance(0.3) ? '=' : ''), 'latin1');
    default:
      return plain;
  }
}

function part(r: Rand, depth: number, budget: { parts: number }): string {
  budget.parts--;
  const type = r.pick(CONTENT_TYPES);
  const encoding = r.pick(ENCODINGS);
  const charset = r.pick(CHARSETS);
  const head = `Content-Type: ${type}${type.startsWith('text/') ? `; charset="${charset}"` : ''}\r\nContent-Transfer-Encoding: ${encoding}\r\n`;
  if (depth > 0 && budget.parts > 0 && (type.startsWith('multipart/') || r.chance(0.2))) {
    const boundary = r.pick(['b', '', '--', '"', 'x'.repeat(200), `b${r.int(1e6)}`, ' spaced boundary ', '=?utf-8?q?b?=']);
    const children = 1 + r.int(4);
    const inner = Array.from({ length: children }, () => `--${boundary}\r\n${part(r, depth - 1, budget)}`).join('\r\n');
    const closing = r.chance(0.8) ? `\r\n--${boundary}--\r\n` : '';
    return `Content-Type: multipart/${r.pick(['mixed', 'report; report-type=delivery-status', 'alternative'])}; boundary="${boundary}"\r\n\r\n${inner}${closing}`;
  }
  if (depth > 0 && type.startsWith('message/rfc822')) return `${head}\r\n${header(r)}\r\n${part(r, depth - 1, budget)}`;
  return `${head}\r\n${body(r, encoding, r.int(600)).toString('latin1')}`;
}

const seeds = fc.integer({ min: 1, max: 2 ** 31 - 1 });

/** A valid DSN to the fuzz recipient, the same for the same seed. */
function fixedDsn(seed: number): string {
  return makeDsn({ to: FUZZ_RCPT, recipients: [{ recipient: 'target@example.org' }], messageId: `fixed-${seed}@mta.example`, boundary: `fx${seed}` });
}

const randomBytes = fc.uint8Array({ maxLength: 16 * 1024 }).map((b): FuzzCase => ({ kind: 'random bytes', raw: Buffer.from(b) }));

const mutatedDsn = fc
  .record({
    status: fc.constantFrom('5.1.1', '4.2.2', '5.7.1', '9.9.9', '', 'x.y.z', '5.1.1.1.1', '550'),
    action: fc.constantFrom('failed', 'delayed', 'delivered', 'relayed', 'expanded', '', 'FAILED', 'fail\u0000ed'),
    recipient: fc.constantFrom('target@example.org', '', '<>', 'a@b@c', '"quoted"@example.org', 'x'.repeat(500)),
    eol: fc.constantFrom('\r\n' as const, '\n' as const),
    mutations: fc.array(fc.record({ op: fc.constantFrom('flip', 'insert', 'delete', 'duplicate', 'truncate', 'nul'), at: fc.nat(), len: fc.nat({ max: 300 }) }), { maxLength: 8 }),
    seed: seeds,
  })
  .map(({ status, action, recipient, eol, mutations, seed }): FuzzCase => {
    const r = prng(seed);
    let raw = Buffer.from(makeDsn({ to: FUZZ_RCPT, recipients: [{ recipient, action, status }], eol, messageId: `fuzz-${seed}@mta.example`, boundary: `fz${seed}` }), 'latin1');
    for (const m of mutations) {
      const at = m.at % Math.max(1, raw.length);
      if (m.op === 'flip') raw = Buffer.concat([raw.subarray(0, at), r.bytes(Math.min(m.len, 8)), raw.subarray(at + Math.min(m.len, 8))]);
      else if (m.op === 'insert') raw = Buffer.concat([raw.subarray(0, at), r.bytes(m.len), raw.subarray(at)]);
      else if (m.op === 'delete') raw = Buffer.concat([raw.subarray(0, at), raw.subarray(at + m.len)]);
      else if (m.op === 'duplicate') raw = Buffer.concat([raw.subarray(0, at + m.len), raw.subarray(at)]);
      else if (m.op === 'truncate') raw = raw.subarray(0, at);
      else raw = Buffer.concat([raw.subarray(0, at), Buffer.alloc(m.len), raw.subarray(at)]);
    }
    return { kind: `mutated DSN (${mutations.map((m) => m.op).join(',') || 'none'})`, raw };
  });

const malformedMime = fc.record({ seed: seeds, depth: fc.integer({ min: 0, max: 6 }) }).map(({ seed, depth }): FuzzCase => {
  const r = prng(seed);
  return { kind: `malformed MIME (depth ${depth})`, raw: Buffer.from(`${header(r)}\r\n${part(r, depth, { parts: 60 })}`, 'latin1') };
});

function nested(depth: number, rfc822: boolean, closed: boolean): FuzzCase {
  let inner = 'Content-Type: text/plain\r\n\r\nStatus: 5.1.1\r\n';
  for (let i = 0; i < depth; i++) {
    inner = rfc822
      ? `Content-Type: message/rfc822\r\n\r\nSubject: level ${i}\r\n${inner}`
      : `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n${inner}\r\n${closed ? `--n${i}--\r\n` : ''}`;
  }
  return { kind: `deep nesting (${depth} ${rfc822 ? 'message/rfc822' : 'multipart'})`, raw: Buffer.from(`${header(prng(depth))}\r\n${inner}`, 'latin1') };
}

const deepNesting = fc.record({ depth: fc.integer({ min: 20, max: 2000 }), rfc822: fc.boolean(), closed: fc.boolean() }).map(({ depth, rfc822, closed }) => nested(depth, rfc822, closed));

const manyParts = fc.record({ parts: fc.integer({ min: 50, max: 5000 }), seed: seeds }).map(({ parts, seed }): FuzzCase => {
  const r = prng(seed);
  const list = Array.from({ length: parts }, (_, i) => `--m\r\nContent-Type: ${r.pick(CONTENT_TYPES)}\r\n\r\npart ${i}\r\n`).join('');
  return { kind: `many parts (${parts})`, raw: Buffer.from(`${header(r)}\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="m"\r\n\r\n${list}--m--\r\n`, 'latin1') };
});

const enormousHeaders = fc
  .record({ shape: fc.constantFrom('one long line', 'folded', 'many headers', 'encoded words', 'rfc2231 params'), size: fc.integer({ min: 1024, max: 400 * 1024 }), seed: seeds })
  .map(({ shape, size, seed }): FuzzCase => {
    const r = prng(seed);
    let extra: string;
    if (shape === 'one long line') extra = `X-Long: ${'a'.repeat(size)}`;
    else if (shape === 'folded') extra = `X-Folded: start${'\r\n continued'.repeat(Math.floor(size / 12))}`;
    else if (shape === 'many headers') extra = Array.from({ length: Math.floor(size / 16) }, (_, i) => `X-H${i}: v${i}`).join('\r\n');
    else if (shape === 'encoded words') extra = `Subject: ${Array.from({ length: Math.floor(size / 24) }, () => `=?${r.pick(CHARSETS).slice(0, 20)}?${r.pick(['B', 'Q', 'X'])}?${r.bytes(8).toString('base64')}?=`).join(' ')}`;
    else extra = `Content-Disposition: attachment; ${Array.from({ length: Math.floor(size / 40) }, (_, i) => `filename*${i}*=utf-8''%${r.bytes(1).toString('hex')}%ZZ`).join('; ')}`;
    return { kind: `enormous header (${shape}, ${size} bytes)`, raw: Buffer.from(`${extra}\r\n${fixedDsn(seed)}`, 'latin1') };
  });

const longLine = fc.record({ size: fc.integer({ min: 64 * 1024, max: 2 * 1024 * 1024 }), binary: fc.boolean() }).map(({ size, binary }): FuzzCase => {
  const line = binary ? prng(size).bytes(size) : Buffer.alloc(size, 'Diagnostic-Code: smtp; 550 5.1.1 unknown ');
  return { kind: `endless line (${size} bytes${binary ? ', binary' : ''})`, raw: Buffer.concat([Buffer.from(`${header(prng(size))}\r\nContent-Type: text/plain\r\n\r\n`), line]) };
});

const SAMPLES = join(import.meta.dirname, '..', '..', 'samples');
let carriers: Buffer[] | null = null;
/** The samples, read once: carriers for the adversarial runs. */
function samples(): Buffer[] {
  carriers ??= readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => readFileSync(join(SAMPLES, f)));
  return carriers;
}

/**
 * Long runs of one character or a mixture (blanks, tabs, `>`, `-`, dots, digits, letters, `@`,
 * `=`, `<`, `;`...) put into a real sample where the parser's patterns look: after the headers,
 * the report's intro, DSN fields, quoted text, SMTP replies, the subject; as 1 KiB lines or as
 * one long line (see test/dsn/hostile.ts, which the linear-time test uses too).
 */
const adversarialRuns = fc
  .record({
    sample: fc.nat(),
    run: fc.constantFrom(...Object.keys(RUNS)),
    place: fc.constantFrom(...PLACES, 'everywhere' as const),
    lines: fc.boolean(),
    kib: fc.integer({ min: 16, max: 512 }),
  })
  .map(({ sample, run, place, lines, kib }): FuzzCase => {
    const all = samples();
    const carrier = all[sample % all.length]!;
    const places = place === 'everywhere' ? placesOf(carrier) : [place];
    const unit = RUNS[run]!;
    const raw = inject(carrier, places, () => (lines ? runLines(unit, Math.max(1, Math.floor(kib / places.length))) : [runLine(unit, Math.floor((kib * 1024) / places.length))]));
    return { kind: `adversarial run (${run}, ${lines ? '1 KiB lines' : 'one line'}, ${kib} KiB, ${place}, sample ${sample % all.length})`, raw };
  });

let bomb: Buffer | null = null;
/** 64 MiB of zeros, gzipped to about 64 KiB: never to be inflated by the receiver. */
function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return bomb;
}

const compressedPayload = fc.record({ copies: fc.integer({ min: 1, max: 20 }), asDsn: fc.boolean() }).map(({ copies, asDsn }) => compressed(copies, asDsn));

function compressed(copies: number, asDsn: boolean): FuzzCase {
  const b64 = gzipBomb().toString('base64').replace(/.{76}/g, '$&\r\n');
  const parts = Array.from(
    { length: copies },
    (_, i) => `--z\r\nContent-Type: ${asDsn && i === 0 ? 'message/delivery-status' : 'application/gzip'}\r\nContent-Encoding: gzip\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="bomb${i}.gz"\r\n\r\n${b64}\r\n`,
  ).join('');
  return { kind: `compressed payload (${copies} x 64 MiB gzipped)`, raw: Buffer.from(`${header(prng(copies))}\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="z"\r\n\r\n${parts}--z--\r\n`, 'latin1') };
}

/** The mix of a fuzz run: mostly small and fast cases, some heavy ones. */
export const hostileMessage: fc.Arbitrary<FuzzCase> = fc.oneof(
  { arbitrary: randomBytes, weight: 20 },
  { arbitrary: mutatedDsn, weight: 35 },
  { arbitrary: malformedMime, weight: 30 },
  { arbitrary: deepNesting, weight: 4 },
  { arbitrary: manyParts, weight: 4 },
  { arbitrary: enormousHeaders, weight: 4 },
  { arbitrary: longLine, weight: 2 },
  { arbitrary: compressedPayload, weight: 1 },
  { arbitrary: adversarialRuns, weight: 8 },
);

/** Cases at the edges, always run: the worst of each kind. */
export function edgeCases(limits: { maxMessageBytes: number; maxHeaderBytes: number }): FuzzCase[] {
  const dsn = fixedDsn(0);
  return [
    { kind: 'empty message', raw: Buffer.alloc(0) },
    { kind: 'only NUL bytes', raw: Buffer.alloc(4096) },
    { kind: 'a single dot line', raw: Buffer.from('.\r\n') },
    { kind: 'lines of dots', raw: Buffer.from('..\r\n.\r\n...\r\n'.repeat(100)) },
    { kind: 'header at the limit', raw: Buffer.from(`X-Pad: ${'p'.repeat(limits.maxHeaderBytes - 2000)}\r\n${dsn}`) },
    { kind: 'header over the limit', raw: Buffer.from(`X-Pad: ${'p'.repeat(limits.maxHeaderBytes + 10)}\r\n${dsn}`) },
    { kind: 'message just under the size limit', raw: Buffer.concat([Buffer.from(dsn), Buffer.alloc(limits.maxMessageBytes - dsn.length - 4096, 'a')]) },
    { kind: 'message over the size limit', raw: Buffer.concat([Buffer.from(dsn), Buffer.alloc(limits.maxMessageBytes, 'a')]) },
    { kind: '2000 nested multiparts', raw: nested(2000, false, true).raw },
    { kind: '2000 nested multiparts, never closed', raw: nested(2000, false, false).raw },
    { kind: '2000 nested message/rfc822', raw: nested(2000, true, true).raw },
    { kind: '5000 parts', raw: Buffer.from(`${header(prng(1))}\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n${'--m\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n'.repeat(5000)}--m--\r\n`) },
    { kind: '20 compressed bombs', raw: compressed(20, true).raw },
    { kind: '2 MiB line', raw: Buffer.concat([Buffer.from(`${header(prng(2))}\r\n\r\n`), Buffer.alloc(2 * 1024 * 1024, 'x')]) },
    { kind: 'binary body', raw: Buffer.concat([Buffer.from(`${header(prng(3))}\r\nContent-Type: message/delivery-status\r\n\r\n`), prng(3).bytes(256 * 1024)]) },
    { kind: 'blanks as one 200 KiB line after every place of a sample', raw: inject(samples()[0]!, placesOf(samples()[0]!), () => [runLine(' ')]) },
    { kind: '20000 headers', raw: Buffer.from(`${Array.from({ length: 20_000 }, (_, i) => `X-${i}: ${i}`).join('\r\n')}\r\n${dsn}`) },
  ];
}
