/**
 * Several receivers sharing one PostgreSQL database: throughput and latency of a concurrent
 * spray of DSNs (overlapping contacts and campaigns, some delivered to two receivers at once),
 * for each receiver count asked, each on a fresh database; then a check that the result is a
 * serial execution of the rules (no lost update) and that no deadlock happened.
 *
 *   npm run bench:multi -- [--receivers 1,3] [--clients 24] [--per-group 40] [--seed N]
 *
 * Needs PostgreSQL at REBOND_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 * On one machine the receivers share its cores: the numbers show the cost of coordination
 * through the database, not the gain of separate hosts.
 */
import Table from 'cli-table3';
import knexFactory from 'knex';
import { parseArgs } from 'node:util';
import { TEST_DOMAIN, TEST_SECRET } from '../test/helpers/config.js';
import { createPg } from '../test/helpers/db.js';
import { startReceiver, type Receiver } from '../test/helpers/process.js';
import { spray } from '../test/helpers/spray.js';
import { makeWorkload, replayProblems, snapshot } from '../test/helpers/workload.js';

const { values } = parseArgs({
  options: {
    receivers: { type: 'string', default: '1,3' },
    clients: { type: 'string', default: '24' },
    'per-group': { type: 'string', default: '40' },
    seed: { type: 'string', default: String(Date.now() % 1e9) },
  },
});
const counts = values.receivers.split(',').map(Number);
const clients = Number(values.clients);
const seed = Number(values.seed);
const verp = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };

const table = new Table({ head: ['receivers', 'messages', 'deliveries', 'seconds', 'deliveries/s', 'p50 ms', 'p95 ms', 'max ms', 'not 250', 'retries', 'deadlocks', 'rule violations'], style: { head: [], border: [] } });
const quantile = (xs: number[], q: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

for (const n of counts) {
  const w = makeWorkload({ seed, verp, receivers: n, domain: TEST_DOMAIN, perGroup: Number(values['per-group']), campaigns: 30 });
  const db = await createPg();
  const receivers: Receiver[] = [];
  try {
    const env = { REBOND_DATABASE_URL: db.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, REBOND_DATABASE_POOL_MAX: '4' };
    receivers.push(...(await Promise.all(Array.from({ length: n }, () => startReceiver(env)))));
    const started = Date.now();
    const replies = await spray(w, receivers.map((r) => r.port), clients);
    const seconds = (Date.now() - started) / 1000;
    for (const r of receivers) r.child.kill('SIGTERM');
    for (const r of receivers) await r.exited();
    const knex = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 1 } });
    const snap = await snapshot(knex);
    const stats = await knex('pg_stat_database').where({ datname: new URL(db.url).pathname.slice(1) }).first('deadlocks');
    await knex.destroy();
    const ms = replies.map((r) => r.ms);
    table.push([
      n,
      w.messages.length,
      replies.length,
      seconds.toFixed(1),
      Math.round(replies.length / seconds),
      quantile(ms, 0.5),
      quantile(ms, 0.95),
      Math.max(...ms),
      replies.filter((r) => !r.text.startsWith('250 ')).length,
      receivers.flatMap((r) => r.logs.filter((l) => l['code'] === 'DB_RETRY')).length,
      Number(stats?.deadlocks ?? 0),
      [...snap.contacts.values()].flatMap((c) => replayProblems(c, 3)).length,
    ]);
  } finally {
    for (const r of receivers) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await db.drop();
  }
}
process.stdout.write(`seed ${seed}, ${clients} clients, one session per client and receiver\n${table.toString()}\n`);
