import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DECODERS } from '../../src/dsn/decoders/index.js';
import { readMail } from '../../src/dsn/mime.js';
import { envelopeSenderOf, parseMessage } from '../../src/dsn/parse.js';
import type { Decoder } from '../../src/dsn/types.js';
import { RUNS, inject, placesOf, proseLines, runLine, runLines, type Place } from './hostile.js';

/**
 * Parsing takes linear time: a 256 KiB message made of long runs of one character (blanks, tabs,
 * `>`, `-`, dots, digits, letters, `@`, `=`, `<`, `;` and mixtures), put after the headers, the
 * report's intro, DSN fields, quoted text, SMTP replies and the subject of a real sample, costs at
 * most a few times (8) what an ordinary message of the same size costs, measured here on the same
 * sample (best of three runs, so a busy machine does not fail it). Every decoder of the chain is
 * reached through a sample it decodes (the chain is read here, so decoders added later are
 * covered too), through the whole parse and then by a direct call.
 */
const dir = join(import.meta.dirname, '..', '..', 'samples');
const samples = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((f) => ({ name: f, format: (JSON.parse(readFileSync(join(dir, f.replace(/\.eml$/, '.expected.json')), 'utf8')) as { format: string }).format }));

/** How many times an ordinary message's time a hostile one may take, and a floor for timer noise. */
const FACTOR = 8;
const FLOOR_MS = 80;
const TARGET = 256 * 1024;

async function timeOnce(raw: Buffer, decoder: Decoder | null): Promise<number> {
  const mailFrom = envelopeSenderOf(raw);
  const start = performance.now();
  await parseMessage(raw, { mailFrom });
  let took = performance.now() - start;
  if (decoder) {
    const mail = await readMail(raw);
    const t = performance.now();
    try {
      decoder.decode(mail, { mailFrom });
    } catch {
      // A decoder may refuse hostile input by throwing; the chain records it. Only time counts.
    }
    took += performance.now() - t;
  }
  return took;
}

async function best(raw: Buffer, decoder: Decoder | null, runs = 3): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < runs; i++) min = Math.min(min, await timeOnce(raw, decoder));
  return min;
}

/** The hostile variants of one carrier: every run as 1 KiB lines at every place, and as one 200 KiB line at each place. */
function* variants(raw: Buffer, places: readonly Place[]): Generator<{ label: string; raw: Buffer }> {
  const perPlace = Math.max(1, Math.floor((TARGET - raw.length) / 1024 / places.length));
  for (const [name, unit] of Object.entries(RUNS)) {
    yield { label: `${name} as 1 KiB lines`, raw: inject(raw, places, () => runLines(unit, perPlace)) };
    for (const place of places) yield { label: `${name} as one 200 KiB line after ${place}`, raw: inject(raw, [place], () => [runLine(unit)]) };
  }
}

async function check(file: string, decoder: Decoder | null): Promise<void> {
  const raw = readFileSync(join(dir, file));
  const places = placesOf(raw);
  const perPlace = Math.max(1, Math.floor((TARGET - raw.length) / 1024 / places.length));
  const benign = inject(raw, places, () => proseLines(perPlace));
  await best(benign, decoder, 2); // warm up
  let ordinary = await best(benign, decoder);
  let limit = Math.max(FACTOR * ordinary, FLOOR_MS);
  const slow: string[] = [];
  for (const v of variants(raw, places)) {
    // One run first; a slow one is measured again, and the ordinary message with it (a busy
    // machine slows both).
    let took = await timeOnce(v.raw, decoder);
    if (took > limit) {
      took = Math.min(took, await best(v.raw, decoder, 2));
      ordinary = Math.max(ordinary, await best(benign, decoder));
      limit = Math.max(FACTOR * ordinary, FLOOR_MS);
    }
    if (took > limit) slow.push(`${v.label}: ${took.toFixed(0)} ms`);
  }
  expect(slow, `${file}: hostile variants slower than ${limit.toFixed(0)} ms (an ordinary ${(benign.length / 1024).toFixed(0)} KiB message: ${ordinary.toFixed(1)} ms)`).to.deep.equal([]);
}

describe('linear-time parsing', function () {
  this.timeout(600_000);

  it('has a sample for every decoder of the chain, to carry hostile input to it', () => {
    const missing = DECODERS.filter((d) => !samples.some((s) => s.format === d.name)).map((d) => d.name);
    expect(missing).to.deep.equal([]);
  });

  it('reads a hostile message that no decoder takes in linear time', async () => {
    const carrier = samples.find((s) => s.format === 'none');
    expect(carrier, 'a sample no decoder takes').to.not.equal(undefined);
    await check(carrier!.name, null);
  });

  for (const decoder of DECODERS) {
    it(`reads hostile messages shaped for ${decoder.name} in linear time`, async () => {
      const carrier = samples.find((s) => s.format === decoder.name);
      if (!carrier) throw new Error(`no sample decodes as ${decoder.name}`);
      await check(carrier.name, decoder);
    });
  }
});
