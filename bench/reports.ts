/**
 * How long the reports take on a large database: `npm run bench:reports [-- --contacts N]`.
 * Builds a fresh SQLite file (and a fresh PostgreSQL database when one answers at
 * REBOND_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres, dropped after),
 * with N contacts, 20 campaigns (3 automations), 40 % of the contacts sent each campaign and 5 %
 * of the sends bounced (rows written in bulk: this measures the queries, not the ingest), then
 * times each report. Prints one line per report and database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { contactKey } from '../src/domain/verp.js';
import { knexContactStore, knexSuppressionStore } from '../src/storage/knex-contacts.js';
import { knexReportStore } from '../src/storage/knex-reports.js';
import { migrate, openDatabase, type Database } from '../src/storage/db.js';
import { ReportService } from '../src/services/reports.js';
import { SuppressionService } from '../src/services/suppression.js';

const args = process.argv.slice(2);
const N = Number(args[args.indexOf('--contacts') + 1] ?? 0) || 100_000;
const DOMAINS = ['gmail.example', 'yahoo.example', 'outlook.example', 'orange.example', 'free.example', 'corp.example', 'blocker.example', 'tiny.example'];

let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);

async function fill(db: Database): Promise<{ sends: number; bounces: number }> {
  const k = db.knex;
  const at = '2026-11-01T00:00:00.000Z';
  for (const id of ['welcome', 'winback', 'onboarding']) await k('automations').insert({ id, name: id, created_at: at });
  const campaigns = Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, name: null, automation_id: i < 12 ? ['welcome', 'winback', 'onboarding'][i % 3] : null, created_at: at }));
  await k('campaigns').insert(campaigns);
  for (let i = 0; i < N; i += 500) {
    const rows = [];
    for (let j = i; j < Math.min(N, i + 500); j++) {
      const email = `u${j}@${DOMAINS[j % DOMAINS.length]}`;
      rows.push({ email, email_key: contactKey(email), state: 'active', soft_campaigns: '[]', complained: false, created_at: at, updated_at: at });
    }
    await k('contacts').insert(rows);
  }
  const [message] = await k('messages')
    .insert({ fingerprint: 'bench', received_at: at, transport: 'smtp', mail_from: '', rcpt_to: '[]', size: 1, raw: null, kind: 'bounce', format: 'rfc3464', status: 'processed' })
    .returning('id');
  const messageId = Number((message as { id: number }).id ?? message);
  const ids: number[] = (await k('contacts').orderBy('id').pluck('id')).map(Number);
  let sends = 0;
  let bounces = 0;
  for (const c of campaigns) {
    let sendRows: object[] = [];
    let bounceRows: object[] = [];
    const flush = async () => {
      if (sendRows.length) await k('sends').insert(sendRows);
      if (bounceRows.length) await k('bounces').insert(bounceRows);
      sends += sendRows.length;
      bounces += bounceRows.length;
      sendRows = [];
      bounceRows = [];
    };
    for (const id of ids) {
      if (random() >= 0.4) continue;
      sendRows.push({ campaign_id: c.id, contact_id: id, sent_at: at, message_id: null });
      const r = random();
      if (r < 0.05) {
        const hard = r < 0.02;
        bounceRows.push({ message_id: messageId, campaign_id: c.id, contact_id: id, recipient: null, kind: 'bounce', action: 'failed', status_code: hard ? '5.1.1' : '4.2.2', status_source: 'status', type: hard ? 'hard' : 'soft', description: hard ? 'Bad destination mailbox address' : 'Mailbox over quota', diagnostic: null, remote_mta: null, reporting_mta: null, counted: true, received_at: at });
        if (hard) await k('suppressions').insert({ contact_id: id, email: `u${id}`, reason: 'hard_bounce', bounce_id: null, created_at: at }).onConflict(['contact_id', 'reason']).ignore();
      }
      if (sendRows.length >= 300) await flush();
    }
    await flush();
  }
  if (db.dialect === 'pg') await k.raw('ANALYZE');
  else await k.raw('ANALYZE');
  return { sends, bounces };
}

async function time<T>(label: string, dialect: string, work: () => Promise<T>): Promise<T> {
  await work(); // warm
  const runs = 3;
  const start = process.hrtime.bigint();
  let result!: T;
  for (let i = 0; i < runs; i++) result = await work();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  console.log(`${dialect.padEnd(6)} ${label.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms`);
  return result;
}

async function bench(db: Database): Promise<void> {
  await migrate(db);
  const t0 = Date.now();
  const { sends, bounces } = await fill(db);
  console.log(`${db.dialect.padEnd(6)} ${N} contacts, 20 campaigns, ${sends} sends, ${bounces} bounces (written in ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const reports = new ReportService(knexReportStore(db));
  const suppressions = new SuppressionService(knexSuppressionStore(db));
  const contacts = knexContactStore(db);
  await time('report campaign c3 (summary)', db.dialect, () => reports.campaignSummary('c3'));
  await time('report campaign c3 (bounced contacts, page 1)', db.dialect, () => reports.bouncedContacts('c3', { limit: 100 }));
  await time('report campaigns (20, with summaries)', db.dialect, () => reports.campaigns({}, { limit: 100 }));
  await time('report automations', db.dialect, () => reports.automations());
  await time('report automation welcome', db.dialect, () => reports.automation('welcome'));
  await time('report domains', db.dialect, () => reports.domains());
  await time('report domains --since (nothing recent)', db.dialect, () => reports.domains({ since: '2026-11-02T00:00:00.000Z' }));
  const emails = Array.from({ length: 1000 }, (_, i) => `u${i * 7}`);
  await time('suppression check (1,000 addresses)', db.dialect, () => suppressions.check(emails));
  await time('suppression export (every row)', db.dialect, async () => {
    let n = 0;
    for await (const _ of suppressions.rows()) n++;
    return n;
  });
  await time('contact show (history page)', db.dialect, () => contacts.records(5, { limit: 100, offset: 0 }));
}

const dir = mkdtempSync(join(tmpdir(), 'rebond-bench-'));
console.log(`node ${process.version}, ${N} contacts`);
const sqlite = openDatabase({ url: `sqlite:${join(dir, 'bench.sqlite')}` });
try {
  await bench(sqlite);
} finally {
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });
}

const adminUrl = process.env['REBOND_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
const name = `rebond_bench_${process.pid}`;
let created = false;
try {
  await admin.raw(`CREATE DATABASE ${name}`);
  created = true;
} catch {
  console.log('pg     (no PostgreSQL server answered: skipped)');
}
if (created) {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pg = openDatabase({ url: url.toString(), statementTimeoutMs: 0 });
  try {
    await bench(pg);
  } finally {
    await pg.close();
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
await admin.destroy();
