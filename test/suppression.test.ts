import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { createApp, type App } from '../src/app.js';
import { contactKey, encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { runCli } from './helpers/process.js';

const REASONS = ['complaint', 'hard_bounce', 'soft_bounces'] as const;

describeEachDatabase('suppression list', (slot) => {
  let app: App;
  const env = () => ({ REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN });
  before(async function () {
    this.timeout(120_000);
    app = await createApp(testConfig(slot.url), { logger: silentLogger });
    await resetDatabase(app.db.knex);
    // Bounced through the real ingest:
    for (const [email, status] of [
      ['hard@example.org', '5.1.1'],
      ['quoted"name@example.org', '5.1.1'],
    ] as const) {
      const to = encodeReturnPath(app.verp, 'c1', email);
      await app.ingestor.ingest({ raw: Buffer.from(makeDsn({ to, recipients: [{ recipient: email, status }] })), mailFrom: '', rcptTo: [to], transport: 'smtp', receivedAt: new Date('2026-09-01T00:00:00Z') });
    }
    // Volume: 2,400 suppressions written straight into the tables, ten to a timestamp, every
    // fifth contact with two reasons, to page through.
    const contacts = Array.from({ length: 2400 }, (_, i) => ({ email: `s${String(i).padStart(4, '0')}@bulk.example`, email_key: contactKey(`s${i}@bulk.example`), state: 'bounced', soft_campaigns: '[]', complained: i % 5 === 0, created_at: '2026-10-01T00:00:00.000Z', updated_at: '2026-10-01T00:00:00.000Z' }));
    for (let i = 0; i < contacts.length; i += 200) await app.db.knex('contacts').insert(contacts.slice(i, i + 200));
    const rows: Array<Record<string, unknown>> = await app.db.knex('contacts').where('email', 'like', '%@bulk.example').select('id', 'email').orderBy('email');
    const suppressions = rows.flatMap((r, i) => {
      const at = new Date(Date.UTC(2026, 9, 1) + Math.floor(i / 10) * 60_000).toISOString();
      const one = { contact_id: r['id'], email: r['email'], reason: i % 2 ? 'hard_bounce' : 'soft_bounces', bounce_id: null, created_at: at };
      return i % 5 === 0 ? [one, { ...one, reason: 'complaint' }] : [one];
    });
    for (let i = 0; i < suppressions.length; i += 200) await app.db.knex('suppressions').insert(suppressions.slice(i, i + 200));
  });
  after(async () => {
    await app?.close();
  });

  const sqlOrder = async (since?: string) => {
    const q = app.db.knex('suppressions').orderBy([{ column: 'created_at' }, { column: 'contact_id' }, { column: 'reason' }]).select('email', 'reason');
    if (since) q.where('created_at', '>=', since);
    return (await q).map((r: { email: string; reason: string }) => `${r.email} ${r.reason}`);
  };

  it('checks addresses in bulk: suppressed or not, why, and since when', async () => {
    const statuses = await app.suppressions.check(['HARD@example.org', 's0000@bulk.example', 'free@example.org', 'hard@example.org']);
    expect(statuses.map((s) => [s.email, s.suppressed, s.reasons])).to.deep.equal([
      ['hard@example.org', true, ['hard_bounce']],
      ['s0000@bulk.example', true, ['complaint', 'soft_bounces']],
      ['free@example.org', false, []],
    ]);
    expect(statuses[0]!.records[0]).to.deep.include({ campaignId: 'c1', statusCode: '5.1.1' });
    expect(statuses[1]!.since).to.equal('2026-10-01T00:00:00.000Z');
    expect(REASONS).to.include.members(statuses[1]!.reasons);
  });

  it('pages through the whole list exactly once and in order, however many rows share a timestamp', async () => {
    const all: string[] = [];
    for await (const s of app.suppressions.rows()) all.push(`${s.email} ${s.reason}`);
    expect(all).to.have.length(2400 + 480 + 2);
    expect(all).to.deep.equal(await sqlOrder());
    const since = '2026-10-01T03:00:00.000Z';
    const recent: string[] = [];
    for await (const s of app.suppressions.rows({ since })) recent.push(`${s.email} ${s.reason}`);
    expect(recent).to.deep.equal(await sqlOrder(since));
    expect(recent.length).to.be.greaterThan(0).and.lessThan(all.length);
    const page = await app.suppressions.list({ search: 's000' }, 5);
    expect(page.items.map((s) => s.email)).to.deep.equal(['s0000@bulk.example', 's0000@bulk.example', 's0001@bulk.example', 's0002@bulk.example', 's0003@bulk.example']);
    const next = await app.suppressions.list({ search: 's000', after: page.next }, 100);
    expect(next.items.map((s) => s.email)).to.include('s0009@bulk.example');
    expect(next.next).to.equal(null);
    expect(await app.suppressions.count({ search: '_' })).to.equal(0);
  });

  it('tells by its exit status whether an address is suppressed', () => {
    const suppressed = runCli(['suppression', 'check', 'Hard@example.org'], env());
    expect(suppressed.status, suppressed.stderr).to.equal(1);
    expect(suppressed.stdout).to.match(/^hard@example\.org\tsuppressed\thard_bounce\tsince 2026-/);
    const clear = runCli(['suppression', 'check', 'free@example.org', 'other@example.org'], env());
    expect(clear.status, clear.stderr).to.equal(0);
    expect(clear.stdout.trim().split('\n')).to.deep.equal(['free@example.org\tnot suppressed', 'other@example.org\tnot suppressed']);
    const mixed = runCli(['suppression', 'check', '--json', 'free@example.org', 's0005@bulk.example'], env());
    expect(mixed.status).to.equal(1);
    expect(mixed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { suppressed: boolean })).to.deep.equal([
      { email: 'free@example.org', suppressed: false, reasons: [], since: null },
      { email: 's0005@bulk.example', suppressed: true, reasons: ['complaint', 'hard_bounce'], since: '2026-10-01T00:00:00.000Z' },
    ]);
    const quiet = runCli(['suppression', 'check', '-q', 'hard@example.org'], env());
    expect([quiet.status, quiet.stdout]).to.deep.equal([1, '']);
    const down = runCli(['suppression', 'check', 'hard@example.org'], { ...env(), REBOND_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing', REBOND_DATABASE_ACQUIRE_TIMEOUT_MS: '2000' });
    expect(down.status, down.stderr).to.equal(3);
    expect(down.stderr).to.contain('cannot read the suppression list');
    expect(runCli(['suppression', 'check', 'hard@example.org'], { ...env(), REBOND_VERP_SECRET: 'short' }).status).to.equal(2);
    const mistyped = join(tmpdir(), `rebond-missing-${process.pid}`, 'typo.sqlite');
    const none = runCli(['suppression', 'check', 'hard@example.org'], { ...env(), REBOND_DATABASE_URL: `sqlite:${mistyped}` });
    expect(none.status, none.stderr).to.equal(3);
    expect(none.stderr).to.contain(`no database at ${mistyped}`);
    expect(existsSync(mistyped)).to.equal(false);
  });

  it('exports the list as CSV and JSON lines that parse back to the table', () => {
    const out = runCli(['suppression', 'export'], env());
    expect(out.status, out.stderr).to.equal(0);
    const rows = parse(out.stdout, { columns: true }) as Array<Record<string, string>>;
    expect(rows).to.have.length(2882);
    expect(Object.keys(rows[0]!)).to.deep.equal(['email', 'reason', 'created_at', 'campaign_id', 'status_code', 'bounce_id', 'contact_id']);
    expect(rows.find((r) => r['email'] === 'quoted"name@example.org')).to.deep.include({ reason: 'hard_bounce', campaign_id: 'c1', status_code: '5.1.1' });
    expect(out.stdout).to.contain('"quoted""name@example.org"');
    const dir = mkdtempSync(join(tmpdir(), 'rebond-export-'));
    try {
      const file = join(dir, 'since.jsonl');
      const r = runCli(['suppression', 'export', '--format', 'jsonl', '--since', '2026-10-01T03:00:00Z', '--output', file], env());
      expect(r.status, r.stderr).to.equal(0);
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { createdAt: string; reason: string });
      expect(lines.every((l) => l.createdAt >= '2026-10-01T03:00:00.000Z')).to.equal(true);
      expect(lines.length).to.be.greaterThan(0).and.lessThan(2882);
      expect(r.stderr).to.contain(`${lines.length} suppression(s) written`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bad = runCli(['suppression', 'export', '--since', 'yesterday'], env());
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('--since must be a date');
  });
});
