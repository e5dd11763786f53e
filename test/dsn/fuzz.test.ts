import { expect } from 'chai';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMessage } from '../../src/dsn/parse.js';
import type { ParsedReport } from '../../src/dsn/types.js';

/**
 * Property: whatever bytes arrive, the parser ends in a result (possibly `none`/`unknown` with
 * problems, which ingest stores as unparseable): it never throws, never rejects, never hangs.
 * Inputs are random bytes, mutated samples, and random reports assembled from real pieces.
 */
const dir = join(import.meta.dirname, '..', '..', 'samples');
const samples = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((f) => readFileSync(join(dir, f)));

const KINDS = ['bounce', 'delay', 'delivery', 'complaint', 'autoreply', 'unknown'];
const CODE = /^[2459]\.\d{1,3}\.\d{1,3}$/;
// Generous: one parse takes milliseconds; a pathological pattern would take far longer.
const PER_INPUT_MS = 15_000;

async function parseWithin(raw: Buffer): Promise<ParsedReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`parse did not finish in ${PER_INPUT_MS} ms`)), PER_INPUT_MS);
  });
  try {
    return await Promise.race([parseMessage(raw, { mailFrom: '' }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function wellFormed(r: ParsedReport): void {
  expect(r.format).to.be.a('string').and.not.equal('');
  expect(KINDS).to.include(r.kind);
  expect(r.recipients).to.be.an('array');
  expect(r.problems).to.be.an('array');
  for (const rc of r.recipients) {
    expect(KINDS).to.include(rc.kind);
    if (rc.status !== null) expect(rc.status).to.match(CODE);
    if (rc.kind === 'bounce') {
      expect(rc.status, 'a bounce always has a code').to.match(CODE);
      expect(['hard', 'soft']).to.include(rc.type);
    } else {
      expect(rc.type, 'only bounces have a type').to.equal(null);
    }
  }
}

type Mutation = (b: Buffer) => Buffer;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat({ max: 400 })).map(([at, len]): Mutation => (b) => Buffer.concat([b.subarray(0, at % (b.length + 1)), b.subarray((at % (b.length + 1)) + len)])),
  fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 200 })).map(([at, bytes]): Mutation => (b) => { const i = at % (b.length + 1); return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]); }),
  fc.tuple(fc.nat(), fc.nat({ max: 2000 })).map(([at, len]): Mutation => (b) => { const i = at % (b.length + 1); return Buffer.concat([b.subarray(0, i), b.subarray(i, i + len), b.subarray(i)]); }),
  fc.nat().map((at): Mutation => (b) => b.subarray(0, at % (b.length + 1))),
  fc.tuple(fc.nat(), fc.constantFrom('a', '-', ' ', '\n', '<', '@', '5.', '550 ', '=', '\t', '\r')).map(([at, c]): Mutation => (b) => { const i = at % (b.length + 1); return Buffer.concat([b.subarray(0, i), Buffer.from(c.repeat(30_000)), b.subarray(i)]); }),
  fc.constantFrom<Mutation>(
    (b) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r'), 'latin1'),
    (b) => Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
    (b) => Buffer.from(b.toString('latin1').split(/\r?\n/).reverse().join('\n'), 'latin1'),
    (b) => Buffer.from(b.toString('latin1').replace(/boundary="?([^";\r\n]+)"?/i, 'boundary="$1x"'), 'latin1'),
    (b) => Buffer.from(b.toString('latin1').replace(/charset=[\w-]+/gi, 'charset=x-no-such-charset'), 'latin1'),
    (b) => Buffer.from(b.toString('latin1').replace(/Content-Transfer-Encoding: 7bit/gi, 'Content-Transfer-Encoding: base64'), 'latin1'),
  ),
);

const FIELD_NAMES = ['Final-Recipient', 'Original-Recipient', 'Action', 'Status', 'Diagnostic-Code', 'Remote-MTA', 'Reporting-MTA', 'Original-Envelope-Id', 'Feedback-Type', 'Original-Rcpt-To', 'X-Failed-Recipients'];
const fieldLine = fc.tuple(fc.constantFrom(...FIELD_NAMES), fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('rfc822; a@b.example', 'failed', 'delayed', '5.1.1', '4.4.7', '5.0.0 (x)', 'smtp; 550-5.1.1 no', 'utf-8; jörg@bücher.example', ''))).map(([n, v]) => `${n}: ${v}`);
const report = fc
  .tuple(
    fc.constantFrom('delivery-status', 'feedback-report', 'disposition-notification', 'nonsense'),
    fc.constantFrom('message/delivery-status', 'message/global-delivery-status', 'message/feedback-report', 'message/rfc822', 'text/rfc822-headers', 'text/plain'),
    fc.array(fc.array(fieldLine, { maxLength: 8 }), { maxLength: 6 }),
    fc.constantFrom('', 'Return-Path: <>\n', 'Auto-Submitted: auto-replied\n', 'X-Failed-Recipients: x@y.example\n'),
    fc.constantFrom('Undelivered Mail', 'Out of office', 'Re: hello', '', 'Delivery Status Notification (Delay)'),
    fc.constantFrom('\r\n', '\n', '\r'),
  )
  .map(([rt, partType, groups, extra, subject, eol]) =>
    Buffer.from(
      [
        `${extra}From: MAILER-DAEMON@mta.example`,
        `Subject: ${subject}`,
        `Content-Type: multipart/report; report-type=${rt}; boundary="B"`,
        '',
        '--B',
        'Content-Type: text/plain',
        '',
        'Report.',
        '--B',
        `Content-Type: ${partType}`,
        '',
        groups.map((g) => g.join('\n')).join('\n\n'),
        '--B--',
        '',
      ]
        .join('\n')
        .replace(/\n/g, eol),
    ),
  );

describe('parser robustness (property-based)', function () {
  this.timeout(300_000);

  it('ends every random byte string in a well-formed result', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => wellFormed(await parseWithin(Buffer.from(bytes)))), { numRuns: 150 });
  });

  it('ends every mutated sample in a well-formed result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (i, mutations) => {
        const raw = mutations.reduce<Buffer>((b, m) => m(b), samples[i]!);
        wellFormed(await parseWithin(raw));
      }),
      { numRuns: 200 },
    );
  });

  it('ends every random report assembled from real fields in a well-formed result', async () => {
    await fc.assert(fc.asyncProperty(report, async (raw) => wellFormed(await parseWithin(raw))), { numRuns: 200 });
  });

  it('ends texts made of long runs of one pattern (the inputs that make patterns backtrack) in a result', async () => {
    const runs = [' ', '\t', '-', ' -', '>', '#', '<', '.', 'a.', '5.5.', 'a@', 'a@b.', 'said: ', 'user ', 'mailbox ', '\n', '\r', 'x@y.example:\n', 'X-A: b\n'];
    for (const run of runs) {
      const body = run.repeat(Math.ceil(200_000 / run.length));
      const plain = Buffer.from(`From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\n\n${body}\n`);
      const dsn = Buffer.from(`From: MAILER-DAEMON@x.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\nDiagnostic-Code: smtp; ${body}\n--B--\n`);
      for (const raw of [plain, dsn]) wellFormed(await parseWithin(raw));
    }
  });

  it('parses a sample the same way whatever its line endings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: samples.length - 1 }), fc.constantFrom('\r\n', '\n', '\r'), async (i, eol) => {
        const original = samples[i]!;
        const text = original.toString('latin1');
        const converted = Buffer.from(text.replace(/\r\n|\r|\n/g, eol), 'latin1');
        const [a, b] = [await parseWithin(original), await parseWithin(converted)];
        expect([b.format, b.kind, b.recipients.map((r) => [r.recipient, r.status])]).to.deep.equal([a.format, a.kind, a.recipients.map((r) => [r.recipient, r.status])]);
      }),
      { numRuns: 60 },
    );
  });
});
