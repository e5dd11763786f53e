import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { createApp } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { runCli } from './helpers/process.js';

/**
 * Remote text on its way out of the command line: a bounce whose diagnostic is a spreadsheet
 * formula with a terminal escape sequence in it is stored as it came, and comes out as text in
 * CSV (a leading quote, no raw ESC) and in tables (no control character at all).
 */
describe('remote text in command line output', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  const hostile = '=HYPERLINK("http://x.example/","y") \x1b[31mred\x1b[0m \x9b2J';
  const env = () => ({ REBOND_DATABASE_URL: db.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN });
  const cli = (args: string[]) => {
    const r = runCli(args, env());
    expect(r.status, `rebond ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async () => {
    db = createSqlite();
    const app = await createApp(testConfig(db.url), { logger: silentLogger });
    try {
      await app.pipeline.registerCampaign({ id: 'c1', name: '@SUM(1+1)\x1b]0;owned\x07' });
      await app.pipeline.recordSends([{ campaignId: 'c1', email: 'victim@example.org' }]);
      const to = encodeReturnPath(app.verp, 'c1', 'victim@example.org');
      const raw = makeDsn({ to, recipients: [{ recipient: 'victim@example.org', status: '5.1.1', diagnostic: hostile }] });
      const result = await app.ingestor.ingest({ raw: Buffer.from(raw, 'latin1'), mailFrom: '', rcptTo: [to], transport: 'smtp' });
      expect(result.kind).to.not.equal('unparseable');
      const rows = await app.db.knex('bounces').select('diagnostic');
      expect(rows.map((r: { diagnostic: string }) => r.diagnostic).join()).to.contain('\x1b[31m');
    } finally {
      await app.close();
    }
  });
  after(async () => {
    await db?.drop();
  });

  it('writes a formula-looking diagnostic to CSV as text, with control characters escaped', () => {
    const text = cli(['report', 'campaign', 'c1', '--format', 'csv']);
    expect(text).not.to.match(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    const [row] = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(row!['diagnostic']).to.equal(`'=HYPERLINK("http://x.example/","y") \\u001b[31mred\\u001b[0m \\u009b2J`);
    expect(row!['bounces']).to.equal('1'); // a number stays a number
    const campaigns = parse(cli(['report', 'campaigns', '--format', 'csv']), { columns: true }) as Array<Record<string, string>>;
    expect(Object.values(campaigns[0]!)).to.include("'@SUM(1+1)\\u001b]0;owned\\u0007");
  });

  it('shows the diagnostic and the description in a table without any control character', () => {
    const text = cli(['report', 'campaign', 'c1']);
    expect(text).to.contain('victim@example.org');
    expect(text).to.contain('@SUM(1+1)\\u001b]0;owned\\u0007');
    expect(text).not.to.match(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    const json = cli(['contact', 'show', 'victim@example.org', '--format', 'json']);
    expect(json).not.to.match(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(JSON.stringify(JSON.parse(json))).to.contain('\\u001b[31m');
  });
});
