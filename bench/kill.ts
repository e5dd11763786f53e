/**
 * `npm run bench:kill`: is every acknowledged bounce still there after `kill -9` under load?
 *
 * For each round: a fresh database, `rebond serve` (built, as deployed), the benchmark's load
 * (`--concurrency` sessions, a new connection per message, rewritten real samples), and a
 * `SIGKILL` once a random number of messages (10 to 90 % of them, seeded) have been answered
 * `250`. Then, with the receiver dead:
 *
 *   1. every message answered `250 ... stored as ID` is in the database under that id, with its
 *      envelope recipient (nothing acknowledged was lost), and SQLite's integrity check passes;
 *   2. a receiver restarted on the same database gets every message again, as remote servers
 *      retry: all are answered 250, each acknowledged one as `already stored as` the same id,
 *      and the database ends with each message once, every one attributed to its contact.
 *
 * Exits non-zero when a check fails. Not part of `npm test` (the mocha durability test does the
 * same with 80 messages); this one does it at load, with group commits of many messages.
 *
 *   npm run bench:kill -- [--database sqlite|postgres|both] [--rounds 3] [--messages 4000]
 *     [--concurrency 20] [--mix samples|dsn] [--seed N] [--json bench/results/kill-latest.json]
 */
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/storage/db.js';
import { createPg, createSqlite } from '../test/helpers/db.js';
import { prng } from '../test/helpers/workload.js';
import { runLoad, type Prepared } from './lib/generator.js';
import { loadLine, machine } from './lib/machine.js';
import { codesLine } from './lib/measure.js';
import { buildMix, type MixKind } from './lib/mix.js';
import { campaignIds, contactEmails, oneOf, positiveInt, receiverEnv, VERP } from './lib/options.js';
import { outcome } from './lib/outcome.js';
import { ROOT, startRebond } from './lib/servers.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string' },
    rounds: { type: 'string' },
    messages: { type: 'string' },
    concurrency: { type: 'string' },
    mix: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'string' },
  },
  strict: true,
});

const database = oneOf('database', values.database, ['sqlite', 'postgres', 'both'] as const, 'sqlite');
const rounds = positiveInt('rounds', values.rounds, 3);
const count = positiveInt('messages', values.messages, 4000);
const concurrency = positiveInt('concurrency', values.concurrency, 20);
const mixKind = oneOf<MixKind>('mix', values.mix, ['samples', 'dsn'], 'samples');
const seed = positiveInt('seed', values.seed, Math.floor(Math.random() * 1e9) + 1);
const jsonPath = resolve(values.json ?? join(ROOT, 'bench', 'results', 'kill-latest.json'));

interface Round {
  readonly database: 'sqlite' | 'postgres';
  readonly round: number;
  readonly killAfter: number;
  /** Messages answered 250 before the receiver died. */
  readonly acknowledged: number;
  readonly firstRun: Record<string, number>;
  readonly storedAtKill: number;
  /** Acknowledged messages not found under their id with their recipient (must be 0). */
  readonly lost: number;
  /** Stored but never acknowledged: committed while the 250 was on its way (retried later). */
  readonly storedUnacknowledged: number;
  readonly integrity: string;
  readonly redelivery: Record<string, number>;
  /** Acknowledged messages answered on redelivery with another id or not as already stored (must be 0). */
  readonly idMismatches: number;
  readonly storedAfter: number;
  readonly attributedAfter: number;
  readonly problems: string[];
}

const STORED = /^250 .*?(already )?stored as (\d+)/;

function recipientOf(m: Prepared): string {
  return /<(.*)>/.exec(m.rcpt[0]!.toString('latin1'))![1]!;
}

/** What the dead receiver left: messages by id with their recipients, and SQLite's integrity check. */
async function inspect(url: string, ids: readonly number[]): Promise<{ stored: number; found: Map<number, string>; integrity: string }> {
  const db = openDatabase({ url, poolMax: 1, statementTimeoutMs: 0 });
  try {
    const k = db.knex;
    const stored = Number(((await k('messages').count({ n: '*' })) as Array<{ n: unknown }>)[0]!.n);
    const found = new Map<number, string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = (await k('messages').whereIn('id', ids.slice(i, i + 500)).select('id', 'rcpt_to')) as Array<{ id: unknown; rcpt_to: unknown }>;
      for (const r of rows) found.set(Number(r.id), String(r.rcpt_to));
    }
    let integrity = 'n/a';
    if (db.dialect === 'sqlite') {
      const rows = (await k.raw('PRAGMA integrity_check')) as Array<Record<string, unknown>>;
      integrity = rows.map((r) => String(Object.values(r)[0])).join('; ');
    }
    return { stored, found, integrity };
  } finally {
    await db.close();
  }
}

async function round(dialect: 'sqlite' | 'postgres', n: number, messages: readonly Prepared[], killAfter: number): Promise<Round> {
  const { url, drop } = dialect === 'sqlite' ? createSqlite() : await createPg();
  const problems: string[] = [];
  try {
    const env = receiverEnv(concurrency + 20);
    const acked = new Map<number, number>(); // message index -> id
    let killed = false;
    const server = await startRebond({ databaseUrl: url, env });
    process.stdout.write(`${dialect} round ${n}: ${messages.length} messages, kill -9 after ${killAfter} acknowledgements, ${loadLine()}\n`);
    const first = await runLoad(messages, {
      port: server.port,
      concurrency,
      timeoutMs: 10_000,
      stop: () => killed,
      onReply(index, reply) {
        const m = STORED.exec(reply);
        if (!m) return;
        acked.set(index, Number(m[2]));
        if (!killed && acked.size >= killAfter) {
          killed = true;
          process.kill(server.pid, 'SIGKILL');
        }
      },
    });
    await server.stop(0);
    if (!killed) problems.push(`the receiver was never killed (${acked.size} acknowledgements)`);

    const seen = await inspect(url, [...acked.values()]);
    let lost = 0;
    for (const [index, id] of acked) {
      const rcpt = seen.found.get(id);
      if (rcpt === undefined || !rcpt.includes(recipientOf(messages[index]!))) lost++;
    }
    if (lost > 0) problems.push(`${lost} acknowledged messages missing or under another id`);
    if (seen.integrity !== 'ok' && seen.integrity !== 'n/a') problems.push(`integrity check: ${seen.integrity}`);
    // `found` holds only acknowledged ids.
    const storedUnacknowledged = seen.stored - seen.found.size;

    // The remote servers retry everything they did not get a 250 for, and some that they did.
    const again = await startRebond({ databaseUrl: url, env });
    let idMismatches = 0;
    let redelivery: Record<string, number>;
    try {
      const second = await runLoad(messages, {
        port: again.port,
        concurrency,
        onReply(index, reply) {
          const before = acked.get(index);
          if (before === undefined) return;
          const m = STORED.exec(reply);
          if (!m || !m[1] || Number(m[2]) !== before) idMismatches++;
        },
      });
      redelivery = second.codes;
    } finally {
      await again.stop();
    }
    if (idMismatches > 0) problems.push(`${idMismatches} acknowledged messages not answered as already stored under their id`);
    if ((redelivery['250'] ?? 0) !== messages.length) problems.push(`redelivery: ${codesLine(redelivery)}`);
    const after = await outcome(url);
    if (after.messages !== messages.length) problems.push(`${after.messages} messages stored after redelivery, not ${messages.length}`);
    if (mixKind === 'samples' && after.attributed !== messages.length) problems.push(`${after.attributed} of ${messages.length} messages attributed to a contact`);
    return {
      database: dialect,
      round: n,
      killAfter,
      acknowledged: acked.size,
      firstRun: first.codes,
      storedAtKill: seen.stored,
      lost,
      storedUnacknowledged,
      integrity: seen.integrity,
      redelivery,
      idMismatches,
      storedAfter: after.messages,
      attributedAfter: after.attributed,
      problems,
    };
  } finally {
    await drop();
  }
}

async function main(): Promise<void> {
  const before = machine();
  const mix = await buildMix({ kind: mixKind, count, contacts: contactEmails(5000), campaigns: campaignIds(20), verp: VERP, tag: `k${Date.now().toString(36)}` });
  process.stdout.write(`${count} messages (${mixKind}), ${concurrency} sessions at once, ${rounds} rounds per database, seed ${seed} (--seed ${seed} repeats the kill points)\n`);
  const rnd = prng(seed);
  const results: Round[] = [];
  for (const d of database === 'both' ? (['sqlite', 'postgres'] as const) : [database]) {
    for (let r = 1; r <= rounds; r++) results.push(await round(d, r, mix.messages, Math.max(1, Math.floor(count * (0.1 + 0.8 * rnd())))));
  }
  const table = new Table({
    head: ['database', 'round', 'kill after', 'first run replies', 'stored at kill', 'acknowledged, lost', 'stored, not acknowledged', 'integrity', 'redelivery replies', 'same id', 'stored after', 'attributed', 'result'],
    style: { head: [], border: [] },
  });
  for (const r of results) {
    table.push([
      r.database,
      r.round,
      r.killAfter,
      codesLine(r.firstRun),
      r.storedAtKill,
      `${r.acknowledged}, ${r.lost}`,
      r.storedUnacknowledged,
      r.integrity,
      codesLine(r.redelivery),
      r.idMismatches === 0 ? 'all' : `${r.idMismatches} differ`,
      r.storedAfter,
      r.attributedAfter,
      r.problems.length === 0 ? 'ok' : 'FAILED',
    ]);
  }
  process.stdout.write(`${table.toString()}\n`);
  for (const r of results) for (const p of r.problems) process.stdout.write(`${r.database} round ${r.round}: ${p}\n`);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ bench: 'kill', options: { database, rounds, messages: count, concurrency, mix: mixKind, seed }, machine: { before, after: machine() }, rounds: results }, null, 2)}\n`);
  process.stdout.write(`results written to ${jsonPath}\n`);
  const failed = results.filter((r) => r.problems.length > 0).length;
  process.stdout.write(failed === 0 ? `every acknowledged message survived kill -9 in ${results.length} rounds\n` : `${failed} of ${results.length} rounds FAILED\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
