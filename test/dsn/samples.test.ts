import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DECODERS } from '../../src/dsn/decoders/index.js';
import { envelopeSenderOf, parseMessage } from '../../src/dsn/parse.js';

/**
 * Every message in samples/ parses to the result written beside it (`name.expected.json`):
 * `format` (the decoder), `kind`, and one entry per recipient, in order, pinning at least
 * `recipient`, `kind` and `status` (and any other field of the parsed recipient it names, such
 * as `action`, `statusSource` or `type`). A sample without a complete expectation fails.
 */
const dir = join(import.meta.dirname, '..', '..', 'samples');
const emls = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
const KINDS = ['bounce', 'delay', 'delivery', 'complaint', 'autoreply', 'unknown'];

interface Expected {
  format: string;
  kind: string;
  recipients: Array<Record<string, unknown>>;
}

function expectation(file: string): Expected {
  const want = JSON.parse(readFileSync(join(dir, file.replace(/\.eml$/, '.expected.json')), 'utf8')) as Expected;
  const names = new Set([...DECODERS.map((d) => d.name), 'none']);
  expect(names.has(want.format), `format "${want.format}" is a decoder`).to.equal(true);
  expect(KINDS, 'kind').to.include(want.kind);
  expect(want.recipients, 'recipients').to.be.an('array');
  for (const r of want.recipients) expect(r, 'each expected recipient pins').to.include.keys('recipient', 'kind', 'status');
  return want;
}

describe('samples/', () => {
  it('has an expected result beside every sample, and a sample for every expected result', () => {
    const expected = new Set(readdirSync(dir).filter((f) => f.endsWith('.expected.json')).map((f) => f.replace(/\.expected\.json$/, '')));
    const samples = new Set(emls.map((f) => f.replace(/\.eml$/, '')));
    expect([...samples].filter((s) => !expected.has(s)), 'samples without expectation').to.deep.equal([]);
    expect([...expected].filter((s) => !samples.has(s)), 'expectations without sample').to.deep.equal([]);
  });

  it('has at least one sample for every decoder of the chain, and at least 80 in all', () => {
    const formats = new Set(emls.map((f) => expectation(f).format));
    expect(DECODERS.map((d) => d.name).filter((n) => !formats.has(n)), 'decoders without a sample').to.deep.equal([]);
    expect(emls.length).to.be.at.least(80);
  });

  it('has samples with CRLF, LF and CR line endings', () => {
    const endings = new Set(
      emls.map((f) => {
        const raw = readFileSync(join(dir, f));
        return raw.includes('\r\n') ? 'crlf' : raw.includes('\n') ? 'lf' : 'cr';
      }),
    );
    expect([...endings].sort()).to.deep.equal(['cr', 'crlf', 'lf']);
  });

  for (const file of emls) {
    it(`parses ${file} as expected`, async () => {
      const raw = readFileSync(join(dir, file));
      const want = expectation(file);
      const got = await parseMessage(raw, { mailFrom: envelopeSenderOf(raw) });
      expect(got.format, 'format').to.equal(want.format);
      expect(got.kind, 'kind').to.equal(want.kind);
      expect(got.recipients.map((r) => r.recipient), 'recipients').to.deep.equal(want.recipients.map((r) => r['recipient']));
      want.recipients.forEach((r, i) => {
        const actual = got.recipients[i] as unknown as Record<string, unknown>;
        const picked = Object.fromEntries(Object.keys(r).map((k) => [k, actual[k]]));
        expect(picked, `recipient ${i}`).to.deep.equal(r);
      });
    });
  }
});
