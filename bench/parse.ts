/**
 * `npm run bench:parse`: messages parsed per second over samples/ (MIME reading, the decoder
 * chain, code choice and classification), in one process, with several parses in flight (the
 * MIME parser yields between chunks, so one-at-a-time parsing leaves the CPU idle). Rounds are
 * repeated until three in a row agree within 5% (or 20 rounds), and the median is printed with
 * the Node version. Also prints messages per CPU-second of this process (steadier when other
 * work shares the machine), mailparser alone on the same messages in rounds interleaved with the
 * parse rounds (the floor any parse built on it has), and the time the decoder chain alone takes
 * per message.
 *
 * Options: --in-flight N (default 32), --min-round-ms N (default 1500).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { join } from 'node:path';
import { decodeMail, envelopeSenderOf, parseMessage } from '../src/dsn/parse.js';
import { readMail } from '../src/dsn/mime.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const inFlight = option('in-flight', 32);
const minRoundMs = option('min-round-ms', 1500);
const dir = join(import.meta.dirname, '..', 'samples');
const messages = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((f) => {
    const raw = readFileSync(join(dir, f));
    return { raw, mailFrom: envelopeSenderOf(raw) };
  });

const MAILPARSER_OPTIONS = { keepDeliveryStatus: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, checksumAlgo: false } as const;

async function round(count: number, baseline = false): Promise<{ wall: number; cpu: number }> {
  let next = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const m = messages[next++ % messages.length]!;
      if (baseline) await simpleParser(m.raw, MAILPARSER_OPTIONS);
      else await parseMessage(m.raw, { mailFrom: m.mailFrom });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const cpu = process.cpuUsage(cpuStart);
  return { wall: count / ((performance.now() - start) / 1000), cpu: count / ((cpu.user + cpu.system) / 1e6) };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  // Warm up (the JIT) for two seconds, then size a round to last at least minRoundMs.
  const warmStart = performance.now();
  let warm = { wall: 0, cpu: 0 };
  while (performance.now() - warmStart < 2000) warm = await round(messages.length * 2);
  const perRound = Math.max(messages.length, Math.ceil((warm.wall * minRoundMs) / 1000));
  const rates: number[] = [];
  const cpuRates: number[] = [];
  const baseRates: number[] = [];
  const baseCpuRates: number[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await round(perRound);
    rates.push(r.wall);
    cpuRates.push(r.cpu);
    const b = await round(perRound, true);
    baseRates.push(b.wall);
    baseCpuRates.push(b.cpu);
    const last = rates.slice(-3);
    if (last.length === 3 && Math.max(...last) / Math.min(...last) <= 1.05) break;
  }
  // The decoder chain alone, on views read once.
  const views = await Promise.all(messages.map((m) => readMail(m.raw)));
  const loops = 200;
  const t = performance.now();
  for (let i = 0; i < loops; i++) for (let j = 0; j < views.length; j++) decodeMail(views[j]!, { mailFrom: messages[j]!.mailFrom });
  const decodeUs = ((performance.now() - t) * 1000) / (loops * views.length);

  const rate = median(rates);
  console.log(`node ${process.version} (${process.platform} ${process.arch})`);
  console.log(`samples: ${messages.length} messages, ${inFlight} parses in flight, ${perRound} messages per round, ${rates.length} rounds`);
  console.log(`rounds (msg/s): ${rates.map((r) => r.toFixed(0)).join(' ')}`);
  console.log(`decoder chain alone: ${decodeUs.toFixed(1)} µs per message`);
  console.log(`per CPU-second of this process: ${median(cpuRates).toFixed(0)} messages (median)`);
  console.log(`mailparser alone, same rounds: ${median(baseRates).toFixed(0)} messages/second, ${median(baseCpuRates).toFixed(0)} per CPU-second (median)`);
  console.log(`parse: ${rate.toFixed(0)} messages/second (median)`);
}

await main();
