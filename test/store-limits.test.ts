import { expect } from 'chai';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { COLUMN_SIZES, storable, TEXT_LIMITS } from '../src/storage/columns.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn, type DsnOptions, type DsnRecipient } from './helpers/dsn.js';
import { captureLogger, type LogEntry } from './helpers/logs.js';
import { sendMail } from './helpers/smtp.js';

/**
 * What one message may write, and what the database may refuse: a report's recipients beyond
 * `ingest.maxReportRecipients` are not recorded (a problem on the message says so), overlong
 * values are clipped to their columns on both databases, and a row the database still refuses
 * (a permanent data error) leaves the message stored without its records, answered 250, never
 * deferred as if the database were down.
 */
describeEachDatabase('what one message may write', (slot) => {
  let running: RunningServer;
  let entries: LogEntry[];

  before(async () => {
    const captured = captureLogger();
    entries = captured.entries;
    running = await startServer(await createApp(testConfig(slot.url, { ingest: { maxReportRecipients: 50 } }), { logger: captured.logger }));
  });
  after(async () => {
    await running?.stop();
  });
  beforeEach(async () => {
    await resetDatabase(knex());
    entries.length = 0;
  });

  const knex = () => running.app.db.knex;
  const rp = (campaign: string, email: string) => encodeReturnPath(running.app.verp, campaign, email);
  const send = (to: string, raw: string) => sendMail(running.address.port, { from: '', to: [to] }, raw);
  const dsnTo = (to: string, r: Partial<DsnRecipient> & { recipient: string }, o: Partial<DsnOptions> = {}) => makeDsn({ to, recipients: [r], ...o });
  const long = (n: number) => 'x'.repeat(n);

  it('records at most ingest.maxReportRecipients of an unattributed report, says so on the message, and replay keeps the bound', async () => {
    const recipients = Array.from({ length: 120 }, (_, i) => ({ recipient: `user${i}@example.org` }));
    const res = await send(`postmaster@${TEST_DOMAIN}`, makeDsn({ to: `postmaster@${TEST_DOMAIN}`, recipients }));
    expect(res.response).to.match(/^250 /);
    expect(Number((await knex()('bounces').count({ n: '*' }).first())!.n)).to.equal(50);
    const m = await knex()('messages').first();
    expect(m.status).to.equal('unattributed');
    expect(JSON.parse(m.problems).join('\n')).to.contain('120 recipients reported; the first 50 recorded');
    const summary = await running.app.replayer.replay({});
    expect(summary.failed).to.equal(0);
    expect(Number((await knex()('bounces').count({ n: '*' }).first())!.n), 'after replay').to.equal(50);
  });

  const overlong: Array<[string, (to: string) => string, string, string, number]> = [
    ['Action', (to) => dsnTo(to, { recipient: 'a1@example.org', action: `failed${long(40)}` }), 'bounces', 'action', COLUMN_SIZES.bounces.action],
    ['Final-Recipient', (to) => dsnTo(to, { recipient: `${long(400)}@example.org` }), 'bounces', 'recipient', COLUMN_SIZES.bounces.recipient],
    ['Remote-MTA', (to) => dsnTo(to, { recipient: 'a3@example.org', remoteMta: `${long(300)}.example` }), 'bounces', 'remote_mta', COLUMN_SIZES.bounces.remote_mta],
    ['Reporting-MTA', (to) => dsnTo(to, { recipient: 'a4@example.org' }, { reportingMta: `${long(300)}.example` }), 'bounces', 'reporting_mta', COLUMN_SIZES.bounces.reporting_mta],
    ['Diagnostic-Code', (to) => dsnTo(to, { recipient: 'a6@example.org', diagnostic: `550 5.1.1 ${long(5000)}` }), 'bounces', 'diagnostic', TEXT_LIMITS.bounces!['diagnostic']!],
    ['Message-ID', (to) => dsnTo(to, { recipient: 'a5@example.org' }, { messageId: `${long(1100)}@mta.remote.example` }), 'messages', 'header_message_id', COLUMN_SIZES.messages.header_message_id],
  ];
  for (const [field, build, table, column, size] of overlong) {
    it(`stores a DSN with an overlong ${field}, its ${table}.${column} clipped to ${size} characters, and keeps the raw message whole`, async () => {
      const to = rp('long', 'someone@example.org');
      const raw = build(to);
      const res = await send(to, raw);
      expect(res.response).to.match(/^250 /);
      const row = await knex()(table).first();
      expect(String(row[column]).length).to.equal(size);
      const m = await knex()('messages').first();
      expect(Buffer.from(m.raw).toString()).to.equal(raw);
      expect(entries.filter((e) => e.code === 'DB_UNAVAILABLE')).to.deep.equal([]);
      expect(running.app.ingestor.healthy).to.equal(true);
    });
  }

  it('stores text holding a NUL (PostgreSQL refuses one in text)', async () => {
    const to = rp('nul', 'nul@example.org');
    const res = await send(to, dsnTo(to, { recipient: 'nul@example.org', diagnostic: '550 5.1.1 no\0such user' }));
    expect(res.response).to.match(/^250 /);
    expect((await knex()('bounces').first()).diagnostic).to.equal('550 5.1.1 no\uFFFDsuch user');
  });

  it('answers 250 for a message whose records the database refuses, stores it without them, and logs the cause, not an outage', async () => {
    // A rule of the database that no clipping satisfies: a permanent data error.
    if (slot.dialect === 'pg') await knex().raw("ALTER TABLE bounces ADD CONSTRAINT no_poison CHECK (recipient NOT LIKE 'poison%') NOT VALID");
    else await knex().raw("CREATE TRIGGER no_poison BEFORE INSERT ON bounces WHEN NEW.recipient LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'no poison'); END");
    try {
      const to = rp('poison', 'poison@example.org');
      const res = await send(to, dsnTo(to, { recipient: 'poison@example.org' }));
      expect(res.response).to.match(/^250 /);
      const m = await knex()('messages').first();
      expect(m.status).to.equal('unparseable');
      expect(JSON.parse(m.problems).join('\n')).to.match(/database refused/);
      expect(Number((await knex()('bounces').count({ n: '*' }).first())!.n)).to.equal(0);
      const line = entries.find((e) => e.code === 'INGEST_DATA_ERROR');
      expect(line, 'logged').to.not.equal(undefined);
      expect(line!['errorCode']).to.equal(slot.dialect === 'pg' ? '23514' : 'SQLITE_CONSTRAINT');
      expect(JSON.stringify(line)).to.not.contain('Final-Recipient');
      expect(entries.filter((e) => e.code === 'DB_UNAVAILABLE')).to.deep.equal([]);
      expect(running.app.ingestor.healthy).to.equal(true);
      // Others are stored as usual meanwhile.
      const ok = rp('poison', 'fine@example.org');
      expect((await send(ok, dsnTo(ok, { recipient: 'fine@example.org' }))).response).to.match(/^250 /);
      expect(Number((await knex()('bounces').count({ n: '*' }).first())!.n)).to.equal(1);
    } finally {
      if (slot.dialect === 'pg') await knex().raw('ALTER TABLE bounces DROP CONSTRAINT no_poison');
      else await knex().raw('DROP TRIGGER no_poison');
    }
  });

  if (slot.dialect === 'pg') {
    it('knows the size of every sized column of the PostgreSQL schema', async () => {
      const rows: { rows: Array<{ table_name: string; column_name: string; n: number }> } = await knex().raw(
        "SELECT table_name, column_name, character_maximum_length AS n FROM information_schema.columns WHERE table_schema = current_schema() AND character_maximum_length IS NOT NULL AND table_name = ANY(?)",
        [Object.keys(COLUMN_SIZES)],
      );
      const actual: Record<string, Record<string, number>> = {};
      for (const r of rows.rows) (actual[r.table_name] ??= {})[r.column_name] = Number(r.n);
      expect(actual).to.deep.equal(COLUMN_SIZES);
    });
  }
});

describe('storable text', () => {
  it('counts characters as PostgreSQL does (code points), never splits a pair, and replaces what has no UTF-8 form', () => {
    expect(storable('😀😀😀😀😀', 3)).to.equal('😀😀😀');
    expect(storable('ab😀', 3)).to.equal('ab😀');
    expect(storable('abc😀', 3)).to.equal('abc');
    expect(storable('a\0b\uD800c\uDC00d', 10)).to.equal('a\uFFFDb\uFFFDc\uFFFDd');
    expect(storable('x'.repeat(10))).to.equal('x'.repeat(10));
  });
});

describe('ingest.maxReportRecipients', () => {
  it('is 1,000 by default, read from REBOND_INGEST_MAX_REPORT_RECIPIENTS, and at least 1', () => {
    const secret = { REBOND_VERP_SECRET: TEST_SECRET };
    expect(loadConfig({ skipDefaultsFile: true, env: secret }).ingest.maxReportRecipients).to.equal(1000);
    expect(loadConfig({ env: secret }).ingest.maxReportRecipients, 'config/default.json').to.equal(1000);
    expect(loadConfig({ skipDefaultsFile: true, env: { ...secret, REBOND_INGEST_MAX_REPORT_RECIPIENTS: '20' } }).ingest.maxReportRecipients).to.equal(20);
    expect(() => loadConfig({ skipDefaultsFile: true, env: { ...secret, REBOND_INGEST_MAX_REPORT_RECIPIENTS: '0' } })).to.throw(/maxReportRecipients/);
  });
});
