/**
 * `npm run bench:scale`: does ingest slow down, or the receiver grow, as the database fills?
 *
 * For each size (bounce records; half as many contacts), in ascending order on one database:
 * fills it up to that size with bulk SQL (bench/lib/fill.ts: consistent contacts, messages,
 * records, suppressions, audit trail and sends on 200 filler campaigns), registers a fresh set
 * of contacts with sends on fresh campaigns (as the send pipeline does before mailing), starts
 * `rebond serve` (built, default durability settings, HTTP off, log level warn) and sends it
 * `--messages` bounces for those contacts with the load generator of `npm run bench`. Prints the
 * rate at each size and its ratio to the empty database's (target: within 20 %), and the
 * receiver's peak memory at each size (target: flat).
 *
 *   npm run bench:scale -- [--database sqlite|postgres|both] [--sizes 0,250k,1m]
 *     [--messages 10000] [--concurrency 20] [--mix samples|dsn] [--contacts 5000]
 *     [--campaigns 20] [--raw-bytes 1024] [--rounds 1] [--json bench/results/scale-latest.json]
 *
 * With --rounds N, each size is measured N times (each round with its own contacts and
 * campaigns, and a receiver started afresh) and the median rate is kept: on a shared machine
 * one run can be 20 % off.
 *
 * PostgreSQL: a fresh database on REBOND_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 */
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { migrate, openDatabase, sqlitePath, type Database } from '../src/storage/db.js';
import { createPg, createSqlite } from '../test/helpers/db.js';
import { databaseBytes, fillTo, RECORDS_PER_CONTACT, registerSends, settle } from './lib/fill.js';
import { loadLine, machine } from './lib/machine.js';
import { codesLine, measure, type Measured } from './lib/measure.js';
import { buildMix, type MixKind } from './lib/mix.js';
import { campaignIds, contactEmails, oneOf, positiveInt, receiverEnv, VERP } from './lib/options.js';
import { outcome, type Outcome } from './lib/outcome.js';
import { mib } from './lib/proc.js';
import { ROOT, startRebond } from './lib/servers.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string' },
    sizes: { type: 'string' },
    messages: { type: 'string' },
    concurrency: { type: 'string' },
    mix: { type: 'string' },
    contacts: { type: 'string' },
    campaigns: { type: 'string' },
    'raw-bytes': { type: 'string' },
    rounds: { type: 'string' },
    json: { type: 'string' },
  },
  strict: true,
});

function size(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim().replace(/_/g, ''));
  if (!m) throw new Error(`--sizes takes numbers of bounce records (250000, 250k, 1m), not "${text}"`);
  return Math.round(Number(m[1]) * (m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1));
}

const database = oneOf('database', values.database, ['sqlite', 'postgres', 'both'] as const, 'sqlite');
const sizes = [...new Set((values.sizes ?? '0,250k,1m').split(',').map(size))].sort((a, b) => a - b);
const count = positiveInt('messages', values.messages, 10_000);
const concurrency = positiveInt('concurrency', values.concurrency, 20);
const mixKind = oneOf<MixKind>('mix', values.mix, ['samples', 'dsn'], 'samples');
const contactCount = positiveInt('contacts', values.contacts, 5000);
const campaignCount = positiveInt('campaigns', values.campaigns, 20);
const rawBytes = values['raw-bytes'] === '0' ? 0 : positiveInt('raw-bytes', values['raw-bytes'], 1024);
const rounds = positiveInt('rounds', values.rounds, 1);
const jsonPath = resolve(values.json ?? join(ROOT, 'bench', 'results', 'scale-latest.json'));

interface Step {
  readonly database: 'sqlite' | 'postgres';
  readonly size: number;
  /** Rows in the database when the measurement started. */
  readonly rows: { bounces: number; contacts: number; messages: number; suppressions: number };
  readonly databaseBytes: number | null;
  readonly fillSeconds: number;
  /** The round with the median rate. */
  readonly run: Measured;
  readonly outcome: Outcome;
  readonly rounds: ReadonlyArray<{ rate: number; p50: number | null; p99: number | null; peakRss: number | null; serverCpuSeconds: number | null; loadAverageAfter: readonly number[] }>;
  readonly logLines: string[];
}

async function rows(db: Database): Promise<Step['rows']> {
  const n = async (table: string) => Number(((await db.knex(table).count({ n: '*' }).first()) as { n: number | string }).n);
  return { bounces: await n('bounces'), contacts: await n('contacts'), messages: await n('messages'), suppressions: await n('suppressions') };
}

async function scale(dialect: 'sqlite' | 'postgres'): Promise<Step[]> {
  const { url, drop } = dialect === 'sqlite' ? createSqlite() : await createPg();
  const steps: Step[] = [];
  try {
    const open = () => openDatabase({ url, statementTimeoutMs: 0, poolMax: 2 });
    let db = open();
    await migrate(db);
    await db.close();
    let filledContacts = 0;
    for (const [index, bounces] of sizes.entries()) {
      db = open();
      const target = Math.ceil(bounces / RECORDS_PER_CONTACT);
      const started = Date.now();
      let shown = Date.now();
      await fillTo(db, filledContacts, target, {
        verp: VERP,
        rawBytes,
        onProgress: (done) => {
          if (Date.now() - shown < 10_000) return;
          shown = Date.now();
          process.stdout.write(`  ${dialect}: ${done} of ${target} filler contacts written\n`);
        },
      });
      filledContacts = Math.max(filledContacts, target);
      const fillSeconds = (Date.now() - started) / 1000;
      await db.close();

      // Each round: a fresh set of contacts with sends on fresh campaigns, a fresh receiver.
      const runs: Array<{ run: Measured; outcome: Outcome; rows: Step['rows']; bytes: number | null; logLines: string[] }> = [];
      for (let round = 0; round < rounds; round++) {
        const set = `s${index}${rounds > 1 ? `r${round}` : ''}`;
        const contacts = contactEmails(contactCount, `${set}c`);
        const campaigns = campaignIds(campaignCount, set);
        db = open();
        await registerSends(db, contacts, campaigns);
        await settle(db);
        const before = await rows(db);
        const bytes = await databaseBytes(db, dialect === 'sqlite' ? sqlitePath(url) : undefined);
        await db.close();

        const mix = await buildMix({ kind: mixKind, count, contacts, campaigns, verp: VERP, tag: `${set}x${Date.now().toString(36)}`, seed: 1000 + index * 100 + round });
        const server = await startRebond({ databaseUrl: url, env: receiverEnv(concurrency + 20) });
        const since = new Date(Date.now() - 1000).toISOString();
        let run: Measured;
        try {
          process.stdout.write(`${dialect} at ${before.bounces} records, ${before.contacts} contacts (filled in ${fillSeconds.toFixed(0)} s), round ${round + 1} of ${rounds}: ${count} messages, ${loadLine()}\n`);
          run = await measure(server, mix.messages, { target: `rebond ${dialect}`, generator: 'own', concurrency });
        } finally {
          await server.stop();
        }
        runs.push({ run, outcome: await outcome(url, since), rows: before, bytes, logLines: server.lines.slice(0, 5) });
      }
      const median = [...runs].sort((a, b) => a.run.rate - b.run.rate)[Math.floor((runs.length - 1) / 2)]!;
      steps.push({
        database: dialect,
        size: bounces,
        rows: runs[0]!.rows,
        databaseBytes: runs[0]!.bytes,
        fillSeconds,
        run: median.run,
        outcome: median.outcome,
        rounds: runs.map((r) => ({ rate: Math.round(r.run.rate * 10) / 10, p50: r.run.latencyMs?.p50 ?? null, p99: r.run.latencyMs?.p99 ?? null, peakRss: r.run.peakRss, serverCpuSeconds: r.run.serverCpuSeconds, loadAverageAfter: r.run.loadAverageAfter })),
        logLines: runs.flatMap((r) => r.logLines).slice(0, 5),
      });
    }
  } finally {
    await drop();
  }
  return steps;
}

async function main(): Promise<void> {
  const before = machine();
  process.stdout.write(`node ${before.node}, ${before.cpus} CPUs (${before.cpuModel}), ${before.uptime}\nsizes ${sizes.join(', ')} bounce records; ${count} ${mixKind} messages per size, ${concurrency} sessions at once, over ${contactCount} contacts and ${campaignCount} campaigns\n`);
  const steps: Step[] = [];
  for (const d of database === 'both' ? (['sqlite', 'postgres'] as const) : [database]) steps.push(...(await scale(d)));

  const table = new Table({
    head: ['database', 'records', 'contacts', 'DB MiB', 'fill s', rounds > 1 ? 'msg/s (median; rounds)' : 'msg/s', 'vs smallest', 'p50 ms', 'p99 ms', 'replies', 'attributed', 'peak RSS MiB', 'msg per CPU s'],
    style: { head: [], border: [] },
  });
  for (const s of steps) {
    const first = steps.find((x) => x.database === s.database)!;
    const o = s.outcome;
    table.push([
      s.database,
      s.rows.bounces,
      s.rows.contacts,
      mib(s.databaseBytes),
      s.fillSeconds.toFixed(0),
      rounds > 1 ? `${s.run.rate.toFixed(0)} (${s.rounds.map((r) => r.rate.toFixed(0)).join(', ')})` : s.run.rate.toFixed(0),
      first.run.rate > 0 ? `${((s.run.rate / first.run.rate) * 100).toFixed(0)} %` : '-',
      s.run.latencyMs?.p50.toFixed(1) ?? '-',
      s.run.latencyMs?.p99.toFixed(1) ?? '-',
      codesLine(s.run.codes),
      `${o.attributed} of ${o.messages}`,
      mib(Math.max(...s.rounds.map((r) => r.peakRss ?? 0))),
      s.run.serverCpuSeconds ? ((s.run.codes?.['250'] ?? 0) / s.run.serverCpuSeconds).toFixed(0) : '-',
    ]);
  }
  const after = machine();
  process.stdout.write(`${table.toString()}\n`);
  for (const s of steps) if (s.logLines.length) process.stdout.write(`${s.database} at ${s.size}: log lines: ${s.logLines.join(' | ').slice(0, 600)}\n`);
  process.stdout.write(`targets: each rate within 20 % of the smallest size's; peak RSS flat\nbefore: ${before.uptime}\nafter:  ${after.uptime}\n`);

  const result = {
    bench: 'scale',
    options: { database, sizes, messages: count, concurrency, mix: mixKind, contacts: contactCount, campaigns: campaignCount, rawBytes, rounds },
    machine: { before, after },
    steps: steps.map((s) => {
      const first = steps.find((x) => x.database === s.database)!;
      return { ...s, ratioToSmallest: first.run.rate > 0 ? Math.round((s.run.rate / first.run.rate) * 1000) / 1000 : null };
    }),
  };
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`results written to ${jsonPath}\n`);
}

await main();
