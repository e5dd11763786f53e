/**
 * npm run bench:floor: what each stage of the pipeline costs, measured with the load of
 * `npm run bench` (the same generator, messages and concurrency) in one run:
 *
 *   smtp-sink      Postfix's sink (accept and discard): the ceiling of the machine;
 *   stage smtp     smtp-server as rebond configures it, answering 250 once it has the message;
 *   stage mime     ... after mailparser has read it as rebond does;
 *   stage parse    ... after the whole parse (MIME and the decoders);
 *   rebond sqlite  the receiver itself: parse, identify, rules, durable commit, then 250.
 *
 * Each stage's rate is the most the receiver could reach on this machine if everything after
 * that stage cost nothing. `--rounds N` runs the whole sequence N times and reports each
 * target's median (the machine's noise is a few hundred messages per second).
 *
 *   npm run bench:floor -- [--concurrency 20] [--messages 20000] [--rounds 1]
 *     [--json bench/results/floor-latest.json]
 */
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSqlite } from '../test/helpers/db.js';
import { STAGES } from './lib/stages.js';
import { loadLine, machine } from './lib/machine.js';
import { codesLine, measure, type Measured } from './lib/measure.js';
import { buildMix } from './lib/mix.js';
import { campaignIds, contactEmails, positiveInt, receiverEnv, VERP } from './lib/options.js';
import { ROOT, sinkAvailable, startRebond, startSink, startStage, type Server } from './lib/servers.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string' },
    messages: { type: 'string' },
    rounds: { type: 'string' },
    json: { type: 'string' },
  },
  strict: true,
});
const concurrency = positiveInt('concurrency', values.concurrency, 20);
const count = positiveInt('messages', values.messages, 20_000);
const rounds = positiveInt('rounds', values.rounds, 1);
const jsonPath = resolve(values.json ?? join(ROOT, 'bench', 'results', 'floor-latest.json'));

interface Target {
  readonly name: string;
  start(): Promise<{ server: Server; done(): Promise<void> }>;
}

const stopOnly = (server: Server) => ({ server, done: async () => void (await server.stop(5000)) });

const targets: Target[] = [
  ...(sinkAvailable() ? [{ name: 'smtp-sink', start: async () => stopOnly(await startSink()) }] : []),
  ...STAGES.map((stage) => ({ name: `stage ${stage}`, start: async () => stopOnly(await startStage(stage)) })),
  {
    name: 'rebond sqlite',
    start: async () => {
      const db = createSqlite();
      const server = await startRebond({ databaseUrl: db.url, env: receiverEnv(concurrency + 20) });
      return {
        server,
        done: async () => {
          await server.stop();
          await db.drop();
        },
      };
    },
  },
];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const before = machine();
  const mix = await buildMix({ kind: 'samples', count, contacts: contactEmails(5000), campaigns: campaignIds(20), verp: VERP, tag: `f${Date.now().toString(36)}` });
  process.stdout.write(
    `node ${before.node}, ${before.cpus} CPUs (${before.cpuModel}), ${before.uptime}\n` +
      `${count} messages (${mix.used.length} samples rewritten, ${(mix.bytes / count / 1024).toFixed(2)} KiB each on average), ${concurrency} sessions at once, ${rounds} round(s)\n`,
  );
  if (!sinkAvailable()) process.stdout.write('smtp-sink not found (Debian package postfix): no ceiling to compare with\n');

  const runs = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const t of targets) {
      const { server, done } = await t.start();
      try {
        process.stdout.write(`round ${round}: ${t.name}, ${loadLine()}\n`);
        runs.get(t.name)!.push(await measure(server, mix.messages, { target: t.name, generator: 'own', concurrency }));
      } finally {
        await done();
      }
    }
  }

  const rate = (name: string) => median(runs.get(name)!.map((m) => m.rate));
  const sinkRate = sinkAvailable() ? rate('smtp-sink') : 0;
  const summary = targets.map((t) => {
    const ms = runs.get(t.name)!;
    const cpuMs = ms.every((m) => m.serverCpuSeconds !== null) ? median(ms.map((m) => (m.serverCpuSeconds! * 1000) / m.messages)) : null;
    return {
      target: t.name,
      rate: Math.round(rate(t.name)),
      rates: ms.map((m) => Math.round(m.rate)),
      ratioToSink: sinkRate > 0 ? Math.round((rate(t.name) / sinkRate) * 1000) / 1000 : null,
      serverCpuMsPerMessage: cpuMs === null ? null : Math.round(cpuMs * 1000) / 1000,
      latencyP50Ms: median(ms.map((m) => m.latencyMs?.p50 ?? 0)),
      latencyP99Ms: median(ms.map((m) => m.latencyMs?.p99 ?? 0)),
      replies: codesLine(ms[ms.length - 1]!.codes),
    };
  });

  const table = new Table({ head: ['target', 'msg/s (median)', 'each round', 'vs sink', 'server CPU ms/msg', 'ack p50 ms', 'ack p99 ms', 'replies (last round)'], style: { head: [], border: [] } });
  for (const s of summary) {
    table.push([s.target, s.rate, s.rates.join(' '), s.ratioToSink === null || s.target === 'smtp-sink' ? '' : `${(s.ratioToSink * 100).toFixed(0)} %`, s.serverCpuMsPerMessage?.toFixed(2) ?? '-', s.latencyP50Ms.toFixed(1), s.latencyP99Ms.toFixed(1), s.replies]);
  }
  const after = machine();
  process.stdout.write(`${table.toString()}\nbefore: ${before.uptime}\nafter:  ${after.uptime}\n`);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ bench: 'floor', options: { concurrency, messages: count, rounds }, machine: { before, after }, summary, runs: Object.fromEntries(runs) }, null, 2)}\n`);
  process.stdout.write(`results written to ${jsonPath}\n`);
}

await main();
