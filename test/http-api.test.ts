import { expect } from 'chai';
import { createApp, startServer, type App, type RunningServer } from '../src/app.js';
import { checkAddress } from '../src/domain/verp.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import { testArf } from './helpers/arf.js';
import { testConfig, TEST_TOKEN } from './helpers/config.js';
import { describeEachDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { request, seedReports, type Seeded } from './helpers/http.js';
import { captureLogger, type LogEntry } from './helpers/logs.js';
import { sendMany } from './helpers/smtp.js';

const WRONG_TOKEN = 'wrong-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** The JSON API over a real socket, against a database seeded by the send pipeline and ingest. */
describeEachDatabase('HTTP JSON API', (slot) => {
  let app: App;
  let server: RunningServer;
  let base: string;
  let seeded: Seeded;
  let entries: LogEntry[];
  const api = (path: string, o: Parameters<typeof request>[2] = {}) => request(base, path, { token: TEST_TOKEN, ...o });

  before(async function () {
    this.timeout(60_000);
    const capture = captureLogger();
    entries = capture.entries;
    app = await createApp(testConfig(slot.url, { http: { enabled: true, tokens: [TEST_TOKEN] }, log: { level: 'debug' } }), { logger: capture.logger, parse: { decoders: [testArf, ...DECODERS] } });
    seeded = await seedReports(app, { sent: 20, bounces: 7 });
    server = await startServer(app);
    base = `http://127.0.0.1:${server.httpAddress!.port}`;
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses every API call without a token, or with a wrong one, with 401 and a Bearer challenge', async () => {
    for (const path of ['/api/campaigns', '/api/contacts/user0@gmail.example', '/api/suppressions', '/api/nothing-here']) {
      const none = await request(base, path);
      expect(none.status, path).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.equal('Bearer realm="rebond"');
      expect(none.json).to.deep.include({ error: 'unauthorized' });
      expect((await request(base, path, { token: WRONG_TOKEN })).status, path).to.equal(401);
    }
    const post = await request(base, '/api/contacts/user0@gmail.example/unbounce', { token: WRONG_TOKEN, body: { reason: 'x', operator: 'y' } });
    expect(post.status).to.equal(401);
    expect((await app.contacts.show('user0@gmail.example'))!.contact.state).to.equal('bounced');
    // A session cookie is for the pages only: the API wants the header.
    expect((await request(base, '/api/campaigns', { headers: { cookie: 'rebond_session=v1.99999999999999.AAAA' } })).status).to.equal(401);
    expect((await api('/api/campaigns')).status).to.equal(200);
  });

  it('lists campaigns with their summaries, by kind and page by page', async () => {
    const all = await api('/api/campaigns?order=oldest');
    expect(all.status).to.equal(200);
    expect(all.json).to.deep.include({ total: 3, limit: 100, offset: 0 });
    expect(all.json.items.map((c: { id: string }) => c.id)).to.have.members(['welcome-1', 'welcome-2', 'spring-sale']);
    const direct = await api('/api/campaigns?direct=true');
    expect(direct.json.items.map((c: { id: string }) => c.id)).to.deep.equal(['spring-sale']);
    const inWelcome = await api('/api/campaigns?automation=welcome&order=oldest');
    expect(inWelcome.json.items.map((c: { id: string }) => c.id)).to.deep.equal(['welcome-1', 'welcome-2']);
    const second = await api('/api/campaigns?limit=2&offset=2');
    expect(second.json).to.deep.include({ total: 3, limit: 2, offset: 2 });
    expect(second.json.items).to.have.length(1);
  });

  it("gives a campaign's summary box and its bounced contacts, sorted and paged, as the report service does", async () => {
    const summary = await api('/api/campaigns/spring-sale');
    expect(summary.json).to.deep.equal(JSON.parse(JSON.stringify(await app.reports.campaignSummary('spring-sale'))));
    expect(summary.json).to.deep.include({ id: 'spring-sale', name: 'Spring sale', automationId: null, sentTo: 20, bounced: 7, hard: 4, soft: 3, bounceRate: 35, delayed: 1, complained: 1 });

    const byCode = await api('/api/campaigns/spring-sale/bounces?sort=code&direction=desc&limit=3');
    expect(byCode.json).to.deep.include({ total: 7, limit: 3, offset: 0 });
    expect(byCode.json.items.map((b: { code: string }) => b.code)).to.deep.equal(['5.7.1', '5.4.5', '5.2.2']);
    const pages: string[] = [];
    for (let offset = 0; offset < 7; offset += 3) {
      const page = await api(`/api/campaigns/spring-sale/bounces?sort=email&limit=3&offset=${offset}`);
      pages.push(...page.json.items.map((b: { email: string; code: string; type: string }) => `${b.email} ${b.code} ${b.type}`));
    }
    expect(pages).to.deep.equal([...seeded.bounced].map(([email, [code, type]]) => `${email} ${code} ${type}`).sort());
    expect((await api('/api/campaigns/nope')).status).to.equal(404);
    expect((await api('/api/campaigns/nope/bounces')).json).to.deep.include({ error: 'not_found' });
  });

  it('reports automations and their campaigns', async () => {
    const list = await api('/api/automations');
    expect(list.json.items.map((a: { id: string; campaigns: number; bounced: number }) => [a.id, a.campaigns, a.bounced])).to.deep.equal([['welcome', 2, 2]]);
    const one = await api('/api/automations/welcome');
    expect(one.json.automation).to.deep.include({ id: 'welcome', name: 'Welcome series', sentTo: 9, bounced: 2, hard: 1, soft: 1 });
    expect(one.json.campaigns.map((c: { id: string; bounceRate: number }) => [c.id, c.bounceRate])).to.deep.equal([
      ['welcome-1', 25],
      ['welcome-2', 20],
    ]);
    expect((await api('/api/automations/nope')).status).to.equal(404);
    const domains = await api('/api/domains?sort=domain&since=2026-11-01');
    expect(domains.json.items.map((d: { domain: string }) => d.domain)).to.deep.equal(['corp.example', 'gmail.example', 'orange.example']);
  });

  it('answers bad input with 400 naming each bad field, and touches nothing', async () => {
    const cases: Array<[string, Parameters<typeof request>[2], RegExp]> = [
      ['/api/campaigns?limit=0', {}, /query\.limit: must be at least 1/],
      ['/api/campaigns?limit=abc', {}, /query\.limit: must be a whole number/],
      ['/api/campaigns?limit=5000', {}, /query\.limit/],
      ['/api/campaigns?colour=red', {}, /colour/],
      ['/api/campaigns/spring-sale/bounces?sort=colour', {}, /query\.sort/],
      ['/api/suppressions?since=yesterday', {}, /query\.since: must be a date/],
      ['/api/suppressions?after=garbage', {}, /query\.after: must be the `next` value/],
      ['/api/contacts/not-an-address', {}, /path\.email: must be an email address/],
      ['/api/sends', { body: { campaignId: 'Spring Sale!', email: 'a@b.example' } }, /body\.campaignId: campaign id/],
      ['/api/sends', { body: { campaignId: 'spring-sale', email: 'nobody' } }, /body\.email: must be an email address/],
      ['/api/sends', { body: { campaignId: 'spring-sale', email: 'a@b.example', domain: 'evil.example' } }, /body\.domain: must be one of the configured bounce domains/],
      ['/api/sends', { body: { campaignId: 'spring-sale', email: 'a@b.example', sentAt: 'tuesday' } }, /body\.sentAt/],
      ['/api/sends', { body: [] }, /at least one send/],
      ['/api/sends', { body: '{"campaignId": "spring-sale",' }, /JSON/i],
      ['/api/deliveries', { body: { campaignId: 'spring-sale' } }, /body\.email/],
      ['/api/suppressions/check', { body: { emails: [] } }, /body\.emails: at least one address/],
      ['/api/contacts/user0@gmail.example/unbounce', { body: { reason: '  ', operator: 'jane' } }, /body\.reason: a reason is required/],
      ['/api/contacts/user0@gmail.example/unbounce', { body: { reason: 'checked with the customer' } }, /body\.operator: an operator name is required/],
    ];
    for (const [path, o, message] of cases) {
      const r = await api(path, o);
      expect(r.status, `${path} ${JSON.stringify(o)}`).to.equal(400);
      expect(r.json.error, path).to.equal('bad_request');
      expect(r.json.message, path).to.match(message);
    }
    const form = await api('/api/sends', { body: 'campaignId=spring-sale&email=a@b.example', headers: { 'content-type': 'text/plain' } });
    expect(form.status).to.equal(415);
    expect((await app.contacts.show('user0@gmail.example'))!.contact.state).to.equal('bounced');
    expect(await app.contacts.show('a@b.example')).to.equal(null);
  });

  it('makes a signed return path and records the send; a DSN to it over SMTP then bounces the contact', async () => {
    const one = await api('/api/sends', { body: { campaignId: 'autumn', email: ' Zoe@Example.org ', messageId: '<m1@news.example>' } });
    expect(one.status).to.equal(200);
    expect(one.json).to.deep.include({ campaignId: 'autumn', email: 'zoe@example.org', suppressed: false, reasons: [] });
    const check = checkAddress(app.verp, one.json.returnPath);
    expect(check).to.deep.include({ ok: true, campaignId: 'autumn' });
    const many = await api('/api/sends', { body: [{ campaignId: 'autumn', email: 'yan@example.org' }, { campaignId: 'autumn', email: 'user0@gmail.example' }] });
    expect(many.json.map((r: { email: string; suppressed: boolean; reasons: string[] }) => [r.email, r.suppressed, r.reasons])).to.deep.equal([
      ['yan@example.org', false, []],
      ['user0@gmail.example', true, ['hard_bounce']],
    ]);
    expect((await api('/api/campaigns/autumn')).json).to.deep.include({ sentTo: 3, recordedSends: 3, bounced: 0 });

    const rp = one.json.returnPath as string;
    const replies = await sendMany(server.address.port, [{ from: '', to: [rp], raw: makeDsn({ to: rp, recipients: [{ recipient: 'zoe@example.org', status: '5.1.1' }] }) }]);
    expect(replies[0]).to.match(/^250 /);
    expect((await api('/api/campaigns/autumn')).json).to.deep.include({ sentTo: 3, bounced: 1, hard: 1, bounceRate: 33.33 });
    expect((await api('/api/suppressions/zoe@example.org')).json).to.deep.include({ email: 'zoe@example.org', suppressed: true, reasons: ['hard_bounce'] });
  });

  it('reports a delivery, which ends a row of soft bounces, and says when the address is unknown', async () => {
    const before = (await api('/api/contacts/w1@corp.example')).json;
    expect(before.softStreak).to.equal(1);
    const r = await api('/api/deliveries', { body: { email: 'W1@corp.example', campaignId: 'welcome-2' } });
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({ known: true, streakReset: true });
    const after = (await api('/api/contacts/w1@corp.example')).json;
    expect(after.softStreak).to.equal(0);
    expect(after.events.items.map((e: { event: string; actor: string }) => [e.event, e.actor])).to.deep.include(['streak_reset', 'send-pipeline']);
    expect((await api('/api/deliveries', { body: { email: 'stranger@example.org' } })).json).to.deep.equal({ known: false, streakReset: false });
  });

  it('pages through the suppression list with `next` and `since`, missing and repeating nothing', async () => {
    const all = (await app.db.knex('suppressions').select('email', 'reason')).map((r: { email: string; reason: string }) => `${r.email} ${r.reason}`).sort();
    expect(all.length).to.be.greaterThan(4);
    const seen: string[] = [];
    let path = '/api/suppressions?limit=2';
    for (let i = 0; i < 20; i++) {
      const page = await api(path);
      expect(page.status).to.equal(200);
      expect(page.json.total).to.equal(all.length);
      seen.push(...page.json.items.map((s: { email: string; reason: string }) => `${s.email} ${s.reason}`));
      if (!page.json.next) break;
      path = `/api/suppressions?limit=2&after=${encodeURIComponent(page.json.next)}`;
    }
    expect(seen.sort()).to.deep.equal(all);
    const future = await api('/api/suppressions?since=2999-01-01');
    expect(future.json).to.deep.equal({ items: [], total: 0, next: null });
    const recent = await api('/api/suppressions?since=1h');
    expect(recent.json.total).to.equal(all.length);
    const search = await api('/api/suppressions?search=CORP.example');
    expect(search.json.items.map((s: { email: string; reason: string }) => `${s.email} ${s.reason}`).sort()).to.deep.equal(all.filter((s) => s.includes('corp.example')));
    expect(search.json.total).to.equal(all.filter((s) => s.includes('corp.example')).length);
    const bulk = await api('/api/suppressions/check', { body: { emails: ['user0@gmail.example', 'nobody@example.org'] } });
    expect(bulk.json.items.map((s: { email: string; suppressed: boolean }) => [s.email, s.suppressed])).to.deep.equal([
      ['user0@gmail.example', true],
      ['nobody@example.org', false],
    ]);
  });

  it("shows a contact, and reverses its bounce only with a reason and an operator, once, audited", async () => {
    const contact = await api('/api/contacts/user3@gmail.example?historyLimit=5');
    expect(contact.json.contact).to.deep.include({ email: 'user3@gmail.example', state: 'bounced', bouncedReason: 'hard_bounce' });
    expect(contact.json.history.items[0]).to.deep.include({ campaignId: 'spring-sale', statusCode: '5.7.1', type: 'hard' });
    expect((await api('/api/contacts/nobody@example.org')).status).to.equal(404);

    const done = await api('/api/contacts/USER3@gmail.example/unbounce', { body: { reason: 'address restored, checked with the customer', operator: 'jane' } });
    expect(done.status).to.equal(200);
    expect(done.json).to.deep.include({ email: 'user3@gmail.example', removed: ['hard_bounce'], stillSuppressed: [] });
    const row = await app.db.knex('contacts').where({ email: 'user3@gmail.example' }).first();
    expect(row.state).to.equal('active');
    const event = await app.db.knex('contact_events').where({ contact_id: row.id, event: 'unbounced' }).first();
    expect(event).to.deep.include({ actor: 'jane' });
    expect(event.detail).to.contain('address restored, checked with the customer');

    const again = await api('/api/contacts/user3@gmail.example/unbounce', { body: { reason: 'again', operator: 'jane' } });
    expect(again.status).to.equal(409);
    expect(again.json.error).to.equal('not_bounced');
    expect((await api('/api/contacts/nobody@example.org/unbounce', { body: { reason: 'r', operator: 'o' } })).status).to.equal(404);
  });

  it('registers automations and campaigns for the send pipeline', async () => {
    expect((await api('/api/automations/onboarding', { method: 'PUT', body: { name: 'Onboarding' } })).json).to.deep.include({ id: 'onboarding', name: 'Onboarding', campaigns: 0 });
    const c = await api('/api/campaigns/onboarding-1', { method: 'PUT', body: { name: 'Day 1', automationId: 'onboarding' } });
    expect(c.json).to.deep.include({ id: 'onboarding-1', name: 'Day 1', automationId: 'onboarding', sentTo: 0, bounceRate: null });
    expect((await api('/api/campaigns/Bad%20Id', { method: 'PUT', body: {} })).status).to.equal(400);
  });

  it('never writes a token to the log, whether it was accepted or refused', async () => {
    await request(base, '/login', { form: { token: WRONG_TOKEN, next: '/campaigns' } });
    await request(base, '/login', { form: { token: TEST_TOKEN, next: '/campaigns' } });
    await request(base, `/api/campaigns?token=${TEST_TOKEN}`, { token: WRONG_TOKEN });
    const logged = JSON.stringify(entries);
    expect(entries.filter((e) => e.code === 'HTTP_REQUEST').length).to.be.greaterThan(20);
    expect(entries.some((e) => e.code === 'HTTP_UNAUTHORIZED')).to.equal(true);
    expect(entries.some((e) => e.code === 'HTTP_LOGIN_FAILED')).to.equal(true);
    expect(logged).not.to.contain(TEST_TOKEN);
    expect(logged).not.to.contain(WRONG_TOKEN);
  });
});
