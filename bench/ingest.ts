/**
 * `npm run bench`: how many bounces per second one receiver takes over SMTP, end to end.
 *
 * Starts `rebond serve` (built, as deployed: a child process, a fresh SQLite file with the
 * default durability settings, or a fresh PostgreSQL database; HTTP off; log level warn) and
 * sends it the same load as Postfix's smtp-sink gets first (when installed): `--concurrency`
 * sessions at once, a new connection per message, like smtp-source. Prints messages per second,
 * the ratio to smtp-sink, the acknowledgement latency (end of DATA to the final reply), the
 * replies, the receiver's peak memory, its memory with `--idle` idle sessions open (on a fresh
 * receiver, and on the loaded one after the run: 2 seconds after they opened and `--idle-hold`
 * seconds after), and checks in the database that the messages reached the contact rules.
 * Writes everything as JSON.
 *
 *   npm run bench -- [--database sqlite|postgres|both] [--concurrency 20] [--messages 20000]
 *     [--mix samples|dsn] [--contacts 5000] [--campaigns 20] [--sink auto|off]
 *     [--generator own|smtp-source] [--idle 200] [--idle-hold 45] [--parse-threads N]
 *     [--log-level warn]
 *     [--json bench/results/ingest-latest.json]
 *
 * PostgreSQL: a fresh database on REBOND_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 */
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createPg, createSqlite } from '../test/helpers/db.js';
import { idleConnections, type IdleResult } from './lib/idle.js';
import { loadLine, machine } from './lib/machine.js';
import { codesLine, measure, type GeneratorKind, type Measured } from './lib/measure.js';
import { buildMix, type MixKind } from './lib/mix.js';
import { campaignIds, contactEmails, oneOf, positiveInt, receiverEnv, VERP } from './lib/options.js';
import { outcome, type Outcome } from './lib/outcome.js';
import { mib } from './lib/proc.js';
import { ROOT, sinkAvailable, startRebond, startSink } from './lib/servers.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string' },
    concurrency: { type: 'string' },
    messages: { type: 'string' },
    mix: { type: 'string' },
    contacts: { type: 'string' },
    campaigns: { type: 'string' },
    json: { type: 'string' },
    sink: { type: 'string' },
    generator: { type: 'string' },
    idle: { type: 'string' },
    'idle-hold': { type: 'string' },
    'parse-threads': { type: 'string' },
    'log-level': { type: 'string' },
  },
  strict: true,
});

const database = oneOf('database', values.database, ['sqlite', 'postgres', 'both'] as const, 'sqlite');
const concurrency = positiveInt('concurrency', values.concurrency, 20);
const count = positiveInt('messages', values.messages, 20_000);
const mixKind = oneOf<MixKind>('mix', values.mix, ['samples', 'dsn'], 'samples');
const contactCount = positiveInt('contacts', values.contacts, 5000);
const campaignCount = positiveInt('campaigns', values.campaigns, 20);
const jsonPath = resolve(values.json ?? join(ROOT, 'bench', 'results', 'ingest-latest.json'));
const sinkMode = oneOf('sink', values.sink, ['auto', 'off'] as const, 'auto');
const generator = oneOf<GeneratorKind>('generator', values.generator, ['own', 'smtp-source'], 'own');
const idle = values.idle === '0' ? 0 : positiveInt('idle', values.idle, 200);
/** How long the idle sessions stay open, in ms: V8 returns a grown heap only after some idle time. */
const idleHoldMs = Math.max(2, positiveInt('idle-hold', values['idle-hold'], 45)) * 1000;
// The receiver's ingest.parseThreads (its default when not given).
const parseThreads = values['parse-threads'] === undefined ? null : values['parse-threads'] === '0' ? 0 : positiveInt('parse-threads', values['parse-threads'], 1);
/** The receiver's log.level: `warn` logs nothing per message; `info` (its default) a line per message and per contact change. */
const logLevel = oneOf('log-level', values['log-level'], ['error', 'warn', 'info', 'debug'] as const, 'warn');
/** Options for the loaded receiver's node (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it). */
const nodeArgs = (process.env['REBOND_BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);

interface RebondRun {
  readonly database: 'sqlite' | 'postgres';
  readonly run: Measured;
  /** Idle sessions on a receiver that has just started, and on the one that took the load, after it. */
  readonly idleFresh: IdleRun | null;
  readonly idle: IdleRun | null;
  readonly outcome: Outcome;
  /** Warning and error lines the receiver logged. */
  readonly logLines: number;
  readonly firstLogLines: string[];
}

/** Resident memory with the idle sessions open: 2 s after they opened, and at the end of the hold. */
interface IdleRun extends IdleResult {
  readonly rss: number | null;
  readonly settledRss: number | null;
  /** Seconds after the sessions opened at which the memory first came within 2 % of the settled figure. */
  readonly settledAfterSeconds: number | null;
}

async function idleRun(pid: number, port: number): Promise<IdleRun> {
  const r = await idleConnections(pid, port, idle, idleHoldMs);
  const end = r.settled?.rss ?? null;
  const index = end === null ? -1 : r.rssSamples.findIndex((v) => v <= end * 1.02);
  return { ...r, rss: r.memory?.rss ?? null, settledRss: end, settledAfterSeconds: index < 0 ? null : 2 + index };
}

async function rebondRun(dialect: 'sqlite' | 'postgres', messages: Parameters<typeof measure>[1]): Promise<RebondRun> {
  const { url, drop } = dialect === 'sqlite' ? createSqlite() : await createPg();
  try {
    const env = { ...receiverEnv(concurrency + idle + 20), REBOND_LOG_LEVEL: logLevel, ...(parseThreads === null ? {} : { REBOND_INGEST_PARSE_THREADS: String(parseThreads) }) };
    let idleFresh: RebondRun['idle'] = null;
    if (idle > 0) {
      const fresh = await startRebond({ databaseUrl: url, env });
      try {
        idleFresh = await idleRun(fresh.pid, fresh.port);
      } finally {
        await fresh.stop();
      }
    }
    const server = await startRebond({ databaseUrl: url, env, nodeArgs });
    let run: Measured;
    let idleResult: RebondRun['idle'] = null;
    try {
      process.stdout.write(`rebond (${dialect}): ${count} messages, ${concurrency} sessions at once, ${loadLine()}\n`);
      run = await measure(server, messages, { target: `rebond ${dialect}`, generator, concurrency });
      if (idle > 0) {
        idleResult = await idleRun(server.pid, server.port);
      }
    } finally {
      await server.stop();
    }
    return { database: dialect, run, idleFresh, idle: idleResult, outcome: await outcome(url), logLines: server.lines.length, firstLogLines: server.lines.slice(0, 5) };
  } finally {
    await drop();
  }
}

async function main(): Promise<void> {
  const before = machine();
  const contacts = contactEmails(contactCount);
  const campaigns = campaignIds(campaignCount);
  const mix = await buildMix({ kind: mixKind, count, contacts, campaigns, verp: VERP, tag: `b${Date.now().toString(36)}` });
  const kinds: Record<string, number> = {};
  for (const u of mix.used) kinds[u.kind] = (kinds[u.kind] ?? 0) + 1;
  process.stdout.write(
    `node ${before.node}, ${before.cpus} CPUs (${before.cpuModel}), ${before.uptime}\n` +
      `mix ${mixKind}: ${count} messages, ${(mix.bytes / count / 1024).toFixed(2)} KiB each on average, over ${contactCount} contacts and ${campaignCount} campaigns` +
      (mixKind === 'samples' ? `; ${mix.used.length} samples (${codesLine(kinds)}), ${mix.skipped.length} left out (not about a recipient, or not rewritable)\n` : '\n'),
  );
  if (generator === 'smtp-source') process.stdout.write('generator smtp-source: every message is the same (the first of the mix, to its one recipient); rebond stores it once and answers the others as redeliveries\n');

  let sink: Measured | null = null;
  if (sinkMode === 'auto' && sinkAvailable()) {
    const server = await startSink();
    try {
      process.stdout.write(`smtp-sink: ${count} messages, ${concurrency} sessions at once, ${loadLine()}\n`);
      sink = await measure(server, mix.messages, { target: 'smtp-sink', generator, concurrency });
    } finally {
      await server.stop(2000);
    }
  } else if (sinkMode === 'auto') process.stdout.write('smtp-sink not found (Debian package postfix): no ceiling to compare with\n');

  const runs: RebondRun[] = [];
  for (const d of database === 'both' ? (['sqlite', 'postgres'] as const) : [database]) runs.push(await rebondRun(d, mix.messages));

  const table = new Table({
    head: ['target', 'msg/s', 'vs sink', 'seconds', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'to 354 p50/p99 ms', 'replies', 'peak RSS MiB', `${idle} idle: RSS MiB fresh/after, 2 s -> ${idleHoldMs / 1000} s`, 'server CPU s', 'msg per CPU s'],
    style: { head: [], border: [] },
  });
  const row = (m: Measured, idleRss: string) => [
    m.target,
    m.rate.toFixed(0),
    sink && m !== sink && sink.rate > 0 ? `${((m.rate / sink.rate) * 100).toFixed(0)} %` : '',
    m.seconds.toFixed(1),
    m.latencyMs?.p50.toFixed(1) ?? '-',
    m.latencyMs?.p90.toFixed(1) ?? '-',
    m.latencyMs?.p99.toFixed(1) ?? '-',
    m.latencyMs?.max.toFixed(0) ?? '-',
    m.handshakeMs ? `${m.handshakeMs.p50.toFixed(1)}/${m.handshakeMs.p99.toFixed(1)}` : '-',
    m.codes ? codesLine(m.codes) : m.notes.length ? 'failed' : 'ok',
    `${mib(m.peakRss)} (sampled ${mib(m.sampledMaxRss)})`,
    idleRss,
    m.serverCpuSeconds?.toFixed(1) ?? '-',
    m.serverCpuSeconds ? ((m.codes?.['250'] ?? m.messages) / m.serverCpuSeconds).toFixed(0) : '-',
  ];
  if (sink) table.push(row(sink, '-'));
  for (const r of runs) table.push(row(r.run, r.idle ? `${idleCell(r.idleFresh)} / ${idleCell(r.idle)}` : '-'));
  const after = machine();
  process.stdout.write(`${table.toString()}\n`);
  for (const r of runs) {
    const o = r.outcome;
    const pct = o.messages ? ((o.attributed / o.messages) * 100).toFixed(1) : '0';
    process.stdout.write(
      `rebond ${r.database}: ${o.messages} messages stored (${codesLine(o.byKind)}; ${codesLine(o.byStatus)}), ${o.attributed} (${pct} %) with a record attributed to a contact; ` +
        `${o.attributedRecords} of ${o.records} records attributed, ${o.contacts} contacts (${o.bouncedContacts} bounced), ${o.suppressions} suppressions, ${o.campaigns} campaigns, ${o.duplicates} redeliveries\n`,
    );
    if (r.idle && r.idleFresh) {
      process.stdout.write(
        `rebond ${r.database}: ${r.idleFresh.open} of ${r.idleFresh.asked} idle sessions open on a fresh receiver, resident ${idleLine(r.idleFresh)}; ` +
          `${r.idle.open} of ${r.idle.asked} after the run, resident ${idleLine(r.idle)} (target: under 150 MiB with 200)\n`,
      );
    }
    if (r.logLines > 0) process.stdout.write(`rebond ${r.database}: ${r.logLines} log lines at ${logLevel} and above (the first 10,000 kept), first: ${r.firstLogLines.join(' | ').slice(0, 600)}\n`);
    for (const n of r.run.notes.slice(0, 3)) process.stdout.write(`rebond ${r.database}: e.g. ${n}\n`);
    if (r.run.sessionMs && r.run.handshakeMs) {
      const s = r.run.sessionMs.p50;
      process.stdout.write(
        `rebond ${r.database}: a session lasts ${s.toFixed(0)} ms (median), ${r.run.handshakeMs.p50.toFixed(0)} ms of it before the message is sent: ` +
          `${concurrency} sessions at once can carry at most about ${Math.round((concurrency * 1000) / s)} messages/s\n`,
      );
    }
  }
  if (sink) for (const n of sink.notes.slice(0, 3)) process.stdout.write(`smtp-sink: e.g. ${n}\n`);
  process.stdout.write(`before: ${before.uptime}\nafter:  ${after.uptime}\n`);

  const result = {
    bench: 'ingest',
    options: { database, concurrency, messages: count, mix: mixKind, contacts: contactCount, campaigns: campaignCount, sink: sinkMode, generator, idle, idleHoldSeconds: idleHoldMs / 1000, parseThreads, logLevel },
    machine: { before, after },
    mix: { bytes: mix.bytes, samples: mix.used, skipped: mix.skipped },
    sink,
    rebond: runs.map((r) => ({ ...r, ratioToSink: sink && sink.rate > 0 ? Math.round((r.run.rate / sink.rate) * 1000) / 1000 : null })),
  };
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`results written to ${jsonPath}\n`);
}

function idleCell(r: IdleRun | null): string {
  return r ? `${mib(r.rss)} -> ${mib(r.settledRss)}` : '-';
}

function idleLine(r: IdleRun): string {
  const when = r.settledAfterSeconds === null ? '' : ` (reached after ${r.settledAfterSeconds} s)`;
  return `${mib(r.rss)} MiB 2 s after they opened, ${mib(r.settledRss)} MiB ${r.holdMs / 1000} s after${when}`;
}

await main();
