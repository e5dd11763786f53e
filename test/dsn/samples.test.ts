import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envelopeSenderOf, parseMessage } from '../../src/dsn/parse.js';

/**
 * Every message in samples/ parses to the result written beside it (`name.expected.json`).
 * The expectation lists the fields it pins; a sample without one fails.
 */
const dir = join(import.meta.dirname, '..', '..', 'samples');
const emls = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();

describe('samples/', () => {
  it('has an expected result beside every sample, and a sample for every expected result', () => {
    const expected = new Set(readdirSync(dir).filter((f) => f.endsWith('.expected.json')).map((f) => f.replace(/\.expected\.json$/, '')));
    const samples = new Set(emls.map((f) => f.replace(/\.eml$/, '')));
    expect([...samples].filter((s) => !expected.has(s)), 'samples without expectation').to.deep.equal([]);
    expect([...expected].filter((s) => !samples.has(s)), 'expectations without sample').to.deep.equal([]);
  });

  for (const file of emls) {
    it(`parses ${file} as expected`, async () => {
      const raw = readFileSync(join(dir, file));
      const want = JSON.parse(readFileSync(join(dir, file.replace(/\.eml$/, '.expected.json')), 'utf8')) as {
        format: string;
        kind: string;
        recipients: Array<Record<string, unknown>>;
      };
      const got = await parseMessage(raw, { mailFrom: envelopeSenderOf(raw) });
      expect(got.format, 'format').to.equal(want.format);
      expect(got.kind, 'kind').to.equal(want.kind);
      expect(got.recipients, 'recipients').to.have.length(want.recipients.length);
      want.recipients.forEach((r, i) => {
        const actual = got.recipients[i] as unknown as Record<string, unknown>;
        const picked = Object.fromEntries(Object.keys(r).map((k) => [k, actual[k]]));
        expect(picked, `recipient ${i}`).to.deep.equal(r);
      });
    });
  }
});
