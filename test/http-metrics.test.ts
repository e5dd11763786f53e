import { expect } from 'chai';
import { createApp, startServer, type App, type RunningServer } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import type { Decoder } from '../src/dsn/types.js';
import { silentLogger } from '../src/logger.js';
import { testConfig, TEST_DOMAIN, TEST_TOKEN } from './helpers/config.js';
import { createPg, describeEachDatabase, describeOnPostgres, type TestDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { parseMetrics, request } from './helpers/http.js';
import { sendMany } from './helpers/smtp.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const METRICS_TOKEN = 'metrics-only-token-4e8a2c6b0d1f3a5c7e9b1d3f5a7c9e0b';

/** A decoder that fails on one marked message, so that a parse failure goes the real way. */
const failing: Decoder = {
  name: 'test-failing',
  decode(mail) {
    if (mail.subject.includes('break the parser')) throw new Error('cannot read this one');
    return null;
  },
};

/** `/metrics` scraped while bounces arrive over SMTP, and `/healthz`. */
describeEachDatabase('HTTP metrics', (slot) => {
  let app: App;
  let server: RunningServer;
  let base: string;
  before(async () => {
    app = await createApp(testConfig(slot.url, { http: { enabled: true, tokens: [TEST_TOKEN], metricsToken: METRICS_TOKEN } }), { logger: silentLogger, parse: { decoders: [failing, ...DECODERS] } });
    server = await startServer(app);
    base = `http://127.0.0.1:${server.httpAddress!.port}`;
  });
  after(async () => {
    await server?.stop();
  });

  it('asks for a token on /metrics (the metrics-only one opens nothing else) and none on /healthz', async () => {
    expect((await request(base, '/metrics')).status).to.equal(401);
    expect((await request(base, '/metrics', { token: 'not-the-metrics-token-000000000000000000' })).status).to.equal(401);
    const scraped = await request(base, '/metrics', { token: METRICS_TOKEN });
    expect(scraped.status).to.equal(200);
    expect(scraped.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    expect((await request(base, '/metrics', { token: TEST_TOKEN })).status).to.equal(200);
    expect((await request(base, '/api/campaigns', { token: METRICS_TOKEN })).status).to.equal(401);
    const health = await request(base, '/healthz');
    expect(health.status).to.equal(200);
    expect(health.json).to.deep.include({ status: 'ok', database: 'ok', commits: 'ok' });
  });

  it('counts sessions, replies, records by kind and type, parse failures, commits and bounced contacts as they arrive', async function () {
    this.timeout(120_000);
    const rp = (campaign: string, email: string) => encodeReturnPath(app.verp, campaign, email);
    await app.pipeline.recordSends(Array.from({ length: 20 }, (_, i) => ({ campaignId: 'metrics', email: `m${i}@example.org` })));
    const dsn = (i: number, status: string, action = 'failed') => ({ from: '', to: [rp('metrics', `m${i}@example.org`)], raw: makeDsn({ to: rp('metrics', `m${i}@example.org`), recipients: [{ recipient: `m${i}@example.org`, status, action }] }) });
    const hard = Array.from({ length: 8 }, (_, i) => dsn(i, '5.1.1'));
    const soft = Array.from({ length: 6 }, (_, i) => dsn(8 + i, '4.2.2'));
    const delays = Array.from({ length: 4 }, (_, i) => dsn(14 + i, '4.4.7', 'delayed'));
    const broken = { from: 'someone@remote.example', to: [`postmaster@${TEST_DOMAIN}`], raw: 'From: someone@remote.example\r\nSubject: please break the parser\r\n\r\nhello\r\n' };
    const forged = { from: '', to: [`bounce+metrics-aaaaaaaaaaaaa-bbbbbbbbbbbbb@${TEST_DOMAIN}`], raw: 'Subject: x\r\n\r\nx\r\n' };

    // Scrape while three SMTP sessions deliver; a scrape must never see a counter go back.
    const accepted = 'rebond_smtp_messages_total{code="250",result="accepted"}';
    const seen: number[] = [];
    let sending = true;
    const scraping = (async () => {
      for (let i = 0; i < 2000 && sending; i++) {
        const m = parseMetrics((await request(base, '/metrics', { token: METRICS_TOKEN })).text);
        seen.push(m.get(accepted) ?? 0);
      }
    })();
    const replies = (
      await Promise.all([sendMany(server.address.port, [...hard.slice(0, 4), ...soft.slice(0, 3), hard[0]!]), sendMany(server.address.port, [...hard.slice(4), ...soft.slice(3), broken]), sendMany(server.address.port, [...delays, forged])])
    ).flat();
    sending = false;
    await scraping;
    expect(replies.filter((r) => r.startsWith('250 2.0.0 Ok: stored'))).to.have.length(19);
    expect(replies.filter((r) => r.startsWith('250 2.0.0 Ok: already stored'))).to.have.length(1);
    expect(replies.filter((r) => r === 'no recipient accepted')).to.have.length(1);

    expect(seen.length).to.be.greaterThan(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).to.be.at.least(seen[i - 1]!);

    const m = parseMetrics((await request(base, '/metrics', { token: METRICS_TOKEN })).text);
    const bounced = Number((await app.db.knex('contacts').where({ state: 'bounced' }).count({ n: '*' }).first())!['n']);
    expect(bounced).to.equal(8);
    expect({
      sessions: m.get('rebond_smtp_sessions_total')! >= 3,
      accepted: m.get(accepted),
      duplicate: m.get('rebond_smtp_messages_total{code="250",result="duplicate"}'),
      refused: m.get('rebond_smtp_recipients_refused_total{code="550",reason="bad-signature"}'),
      hard: m.get('rebond_bounces_total{kind="bounce",type="hard"}'),
      soft: m.get('rebond_bounces_total{kind="bounce",type="soft"}'),
      delays: m.get('rebond_bounces_total{kind="delay",type="none"}'),
      parseFailures: m.get('rebond_parse_failures_total{transport="smtp"}'),
      unparseable: m.get('rebond_messages_total{transport="smtp",kind="unknown",status="unparseable"}'),
      contactsBounced: m.get('rebond_contacts_bounced_total'),
      bouncedNow: m.get('rebond_contacts_bounced'),
      suppressedNow: m.get('rebond_contacts_suppressed'),
      duplicates: m.get('rebond_messages_duplicate_total{transport="smtp"}'),
    }).to.deep.equal({ sessions: true, accepted: 19, duplicate: 1, refused: 1, hard: 8, soft: 6, delays: 4, parseFailures: 1, unparseable: 1, contactsBounced: 8, bouncedNow: bounced, suppressedNow: 8, duplicates: 1 });
    // Every message answered 250 went through a commit, timed.
    expect(m.get('rebond_db_commit_messages_sum')).to.equal(20);
    expect(m.get('rebond_db_commit_seconds_count{result="ok"}')).to.be.within(1, 20);
    expect(m.get('rebond_db_commit_seconds_sum{result="ok"}')).to.be.greaterThan(0);
    expect(m.get('rebond_smtp_sessions_open')).to.be.a('number');
    expect(m.has('process_resident_memory_bytes')).to.equal(true);
  });
});

describeOnPostgres('HTTP /healthz with the database out of reach', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let server: RunningServer;

  before(async () => {
    tdb = await createPg();
    const direct = new URL(tdb.url);
    proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(tdb.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const app = await createApp(testConfig(proxied.toString(), { http: { enabled: true, tokens: [TEST_TOKEN] }, database: { acquireTimeoutMs: 1000, statementTimeoutMs: 1000 } }), { logger: silentLogger });
    server = await startServer(app);
  });
  after(async () => {
    proxy?.restore();
    await server?.stop();
    await proxy?.close();
    await tdb?.drop();
  });

  it('answers 503 while the database cannot be reached and 200 again once it can', async function () {
    this.timeout(60_000);
    const base = `http://127.0.0.1:${server.httpAddress!.port}`;
    expect((await request(base, '/healthz')).status).to.equal(200);
    proxy.cut('reset');
    const down = await request(base, '/healthz');
    expect(down.status).to.equal(503);
    expect(down.json).to.deep.include({ status: 'unavailable', database: 'unreachable' });
    // The API says so too, as a temporary fault.
    expect((await request(base, '/api/campaigns', { token: TEST_TOKEN })).status).to.equal(503);
    proxy.restore();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await request(base, '/healthz')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).to.equal(200);
  });
});
