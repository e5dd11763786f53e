import { expect } from 'chai';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { createApp, startServer, type App, type RunningServer } from '../src/app.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import { silentLogger } from '../src/logger.js';
import { testArf } from './helpers/arf.js';
import { launchBrowser, newContext, type TestBrowser } from './helpers/browser.js';
import { testConfig, TEST_TOKEN } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';
import { seedReports, type Seeded } from './helpers/http.js';

/**
 * The reports pages in headless Chromium, as a person uses them, against a database seeded by
 * the send pipeline and ingest; what the pages show is compared with the database. (The pages
 * read the same services on both databases; the API and report suites cover PostgreSQL.)
 */
describe('reports pages in a browser', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  let app: App;
  let server: RunningServer;
  let browser: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let seeded: Seeded;
  const count = async (q: Promise<Array<Record<string, unknown>>> | unknown) => Number(((await q) as Array<Record<string, unknown>>)[0]!['n']);
  // The text of each cell of each row matched (runs in the page; typed without the DOM library).
  type Node = { textContent: string | null; querySelectorAll(selector: string): ArrayLike<Node> };
  const cells = (selector: string) => page.$$eval(selector, (rows) => rows.map((r) => Array.from((r as unknown as Node).querySelectorAll('td'), (td) => (td.textContent ?? '').trim())));

  before(async () => {
    tdb = createSqlite();
    app = await createApp(testConfig(tdb.url, { http: { enabled: true, tokens: [TEST_TOKEN] } }), { logger: silentLogger, parse: { decoders: [testArf, ...DECODERS] } });
    seeded = await seedReports(app, { sent: 80, bounces: 62 });
    await app.pipeline.registerCampaign({ id: 'odd-name', name: '<img src=x onerror="document.title=1">Sale & <b>more</b>' });
    server = await startServer(app);
    base = `http://127.0.0.1:${server.httpAddress!.port}`;
    browser = await launchBrowser();
    context = await newContext(browser);
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
    await tdb?.drop();
  });

  it('asks a person to sign in, refuses a wrong token, and then opens the page asked for with an HttpOnly cookie', async () => {
    await page.goto(`${base}/campaigns/spring-sale`);
    expect(new URL(page.url()).pathname).to.equal('/login');
    await page.fill('input[name=token]', 'not-a-token-of-this-server-00000000000');
    await page.click('button[type=submit]');
    expect(await page.textContent('[role=alert]')).to.contain('That token is not valid here.');
    await page.fill('input[name=token]', TEST_TOKEN);
    await Promise.all([page.waitForURL(`${base}/campaigns/spring-sale`), page.click('button[type=submit]')]);
    const [session] = await context.cookies();
    expect(session).to.deep.include({ name: 'rebond_session', httpOnly: true, sameSite: 'Strict' });
    expect(session!.value).not.to.contain(TEST_TOKEN);
    expect(await page.evaluate('document.cookie')).to.equal('');
  });

  it("shows a campaign's summary box: the rate, the number of bounced contacts on hover, the list on click", async () => {
    await page.goto(`${base}/campaigns/spring-sale`);
    const sentTo = await count(app.db.knex.raw("SELECT COUNT(*) AS n FROM sends WHERE campaign_id = 'spring-sale'"));
    const bounced = await count(app.db.knex.raw("SELECT COUNT(DISTINCT contact_id) AS n FROM bounces WHERE campaign_id = 'spring-sale' AND kind = 'bounce'"));
    const hard = await count(app.db.knex.raw("SELECT COUNT(DISTINCT contact_id) AS n FROM bounces WHERE campaign_id = 'spring-sale' AND kind = 'bounce' AND type = 'hard'"));
    expect([sentTo, bounced]).to.deep.equal([80, 62]);
    expect(await page.textContent('h1')).to.equal('Spring sale');
    expect(await page.textContent('[data-testid=sent-to]')).to.equal('80');
    expect(await page.textContent('[data-testid=bounce-rate-value]')).to.equal(`${((bounced / sentTo) * 100).toFixed(2)} %`);
    expect(await page.textContent('[data-testid=hard]')).to.equal(String(hard));
    expect(await page.textContent('[data-testid=soft]')).to.equal(String(bounced - hard));
    expect(await page.textContent('[data-testid=delayed]')).to.equal('1');
    expect(await page.textContent('[data-testid=complained]')).to.equal('1');

    const tip = page.locator('[data-testid=bounced-count]');
    expect(await tip.isVisible()).to.equal(false);
    await page.hover('[data-testid=bounce-rate]');
    await tip.waitFor({ state: 'visible' });
    expect(await tip.textContent()).to.equal('62 bounced contacts');
    await page.screenshot({ path: join(tmpdir(), `rebond-campaign-${process.pid}.png`) });
    expect(statSync(join(tmpdir(), `rebond-campaign-${process.pid}.png`)).size).to.be.greaterThan(10_000);

    await Promise.all([page.waitForURL(`${base}/campaigns/spring-sale/bounces`), page.click('[data-testid=bounce-rate]')]);
    expect(await page.textContent('[data-testid=pager]')).to.contain('Showing 1–50 of 62');
    const rows = await cells('[data-testid=bounces] tbody tr');
    expect(rows).to.have.length(50);
    for (const [date, email, code, type, description] of rows) {
      const [expectedCode, expectedType] = seeded.bounced.get(email!)!;
      expect([code, type], email).to.deep.equal([expectedCode, expectedType]);
      const record = await app.db.knex('bounces as b').join('contacts as c', 'c.id', 'b.contact_id').where({ 'c.email': email, 'b.campaign_id': 'spring-sale' }).first('b.description', 'b.received_at');
      expect(description).to.equal(record.description);
      expect(date).to.equal(new Date(record.received_at).toISOString().slice(0, 16).replace('T', ' '));
    }
    // Oldest first by default.
    const dates = rows.map((r) => r[0]!);
    expect(dates).to.deep.equal([...dates].sort());
  });

  it('pages and sorts the bounce list by date, code and type', async () => {
    await page.goto(`${base}/campaigns/spring-sale/bounces`);
    await Promise.all([page.waitForURL(/page=2/), page.click('a[rel=next]')]);
    expect(await page.textContent('[data-testid=pager]')).to.contain('Showing 51–62 of 62');
    const second = await cells('[data-testid=bounces] tbody tr');
    expect(second).to.have.length(12);

    await Promise.all([page.waitForURL(/sort=code/), page.click('a[data-sort=code]')]);
    expect(new URL(page.url()).searchParams.get('page')).to.equal(null);
    const codes = (await cells('[data-testid=bounces] tbody tr')).map((r) => r[2]!);
    expect(codes).to.deep.equal([...codes].sort());
    expect(await page.getAttribute('th[aria-sort=ascending] a', 'data-sort')).to.equal('code');
    await Promise.all([page.waitForURL(/dir=desc/), page.click('a[data-sort=code]')]);
    const desc = (await cells('[data-testid=bounces] tbody tr')).map((r) => r[2]!);
    expect(desc[0]).to.equal('5.7.1');
    expect(desc).to.deep.equal([...desc].sort().reverse());

    await Promise.all([page.waitForURL(/sort=type/), page.click('a[data-sort=type]')]);
    const types = (await cells('[data-testid=bounces] tbody tr')).map((r) => r[3]!);
    const hard = [...seeded.bounced.values()].filter(([, t]) => t === 'hard').length;
    expect(types.slice(0, Math.min(50, hard)).every((t) => t === 'hard')).to.equal(true);
    await Promise.all([page.waitForURL(/dir=desc/), page.click('a[data-sort=type]')]);
    expect((await cells('[data-testid=bounces] tbody tr'))[0]![3]).to.equal('soft');

    await Promise.all([page.waitForURL(`${base}/campaigns/spring-sale/bounces`), page.click('a[data-sort=date]')]);
    const oldestFirst = (await cells('[data-testid=bounces] tbody tr')).map((r) => r[0]!);
    expect(oldestFirst).to.deep.equal([...oldestFirst].sort());
  });

  it('lists campaigns direct and in automations, and leads from an automation to its campaigns and their summaries', async () => {
    await page.goto(`${base}/campaigns`);
    const all = (await cells('[data-testid=campaigns] tbody tr')).map((r) => r[0]!);
    expect(all).to.have.length(4);
    await Promise.all([page.waitForURL(/kind=direct/), page.click('.tabs >> text=Direct')]);
    expect((await cells('[data-testid=campaigns] tbody tr')).map((r) => r[0]!.split(' ')[0])).to.have.members(['Spring', '<img']);
    await Promise.all([page.waitForURL(/kind=automation/), page.click('.tabs >> text=In an automation')]);
    expect((await cells('[data-testid=campaigns] tbody tr')).map((r) => [r[0], r[1]])).to.have.deep.members([
      ['Welcome 1 welcome-1', 'Welcome series'],
      ['Welcome 2 welcome-2', 'Welcome series'],
    ]);

    await page.click('header nav >> text=Automations');
    expect(await cells('[data-testid=automations] tbody tr')).to.deep.equal([['Welcome series welcome', 'Contains 2 campaigns', '9', '2', '22.22 %', '1', '1', '0', '0']]);
    await Promise.all([page.waitForURL(`${base}/automations/welcome`), page.click('text=Contains 2 campaigns')]);
    expect(await page.textContent('h1')).to.equal('Welcome series');
    expect((await cells('[data-testid=campaigns] tbody tr')).map((r) => [r[0], r[2], r[3], r[4]])).to.deep.equal([
      ['Welcome 1 welcome-1', '4', '1', '25.00 %'],
      ['Welcome 2 welcome-2', '5', '1', '20.00 %'],
    ]);
    await Promise.all([page.waitForURL(`${base}/campaigns/welcome-1`), page.click('[data-testid=campaigns] >> text=Welcome 1')]);
    expect(await page.textContent('.crumbs')).to.equal('Automations › Welcome series › Welcome 1');
    expect(await page.textContent('[data-testid=bounce-rate-value]')).to.equal('25.00 %');
    await page.hover('[data-testid=bounce-rate]');
    expect(await page.locator('[data-testid=bounced-count]').textContent()).to.equal('1 bounced contact');
  });

  it('shows names as text, never as markup', async () => {
    let dialogs = 0;
    page.on('dialog', () => void dialogs++);
    await page.goto(`${base}/campaigns/odd-name`);
    expect(await page.textContent('h1')).to.equal('<img src=x onerror="document.title=1">Sale & <b>more</b>');
    expect(await page.$$('main img, main b')).to.have.length(0);
    expect(await page.title()).to.equal('Campaign <img src=x onerror="document.title=1">Sale & <b>more</b> · rebond');
    expect(dialogs).to.equal(0);
  });

  it("shows a contact's history and audit trail, and unbounces it through the form with a reason and an operator", async () => {
    await page.goto(`${base}/campaigns/spring-sale/bounces?sort=email`);
    await Promise.all([page.waitForURL(`${base}/contacts/user0%40gmail.example`), page.click('text=user0@gmail.example')]);
    expect(await page.textContent('[data-testid=state]')).to.equal('bounced');
    expect(await page.textContent('[data-testid=suppressed]')).to.equal('yes: hard_bounce');
    expect((await cells('[data-testid=history] tbody tr')).map((r) => [r[1], r[2], r[3], r[4]])).to.deep.equal([['spring-sale', 'bounce', '5.1.1', 'hard']]);
    expect((await cells('[data-testid=audit] tbody tr')).map((r) => [r[1], r[3], r[4]])).to.deep.equal([['bounced', 'bounced', 'rebond']]);

    // The browser will not send the form without both fields; the server refuses it too.
    await page.click('[data-testid=unbounce-form] button[type=submit]');
    expect(new URL(page.url()).pathname).to.equal('/contacts/user0%40gmail.example');
    expect(await page.$eval('#reason', (el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).to.equal(true);
    const refused = await context.request.post(`${base}/contacts/user0%40gmail.example/unbounce`, { form: { reason: '', operator: 'jane' }, headers: { origin: base } });
    expect(refused.status()).to.equal(400);
    expect(await refused.text()).to.contain('A reason is required to unbounce a contact.');
    const crossSite = await context.request.post(`${base}/contacts/user0%40gmail.example/unbounce`, { form: { reason: 'r', operator: 'o' }, headers: { origin: 'http://evil.example' } });
    expect(crossSite.status()).to.equal(403);
    expect((await app.contacts.show('user0@gmail.example'))!.contact.state).to.equal('bounced');

    await page.fill('#reason', 'Mailbox restored; checked with the customer <on the phone>');
    await page.fill('#operator', 'Jane Doe');
    await Promise.all([page.waitForURL(/unbounced=1/), page.click('[data-testid=unbounce-form] button[type=submit]')]);
    expect(await page.textContent('.flash')).to.contain('Unbounced: user0@gmail.example is active again and no longer suppressed.');
    expect(await page.textContent('[data-testid=state]')).to.equal('active');
    expect(await page.$('[data-testid=unbounce-form]')).to.equal(null);
    const audit = await cells('[data-testid=audit] tbody tr');
    expect(audit.map((r) => [r[1], r[2], r[3], r[4]])).to.deep.equal([
      ['bounced', 'active', 'bounced', 'rebond'],
      ['unbounced', 'bounced', 'active', 'Jane Doe'],
    ]);
    expect(audit[1]![5]).to.contain('Mailbox restored; checked with the customer <on the phone>');

    const contact = await app.db.knex('contacts').where({ email: 'user0@gmail.example' }).first();
    expect(contact.state).to.equal('active');
    expect(await app.db.knex('suppressions').where({ contact_id: contact.id })).to.have.length(0);
    const event = await app.db.knex('contact_events').where({ contact_id: contact.id, event: 'unbounced' }).first();
    expect(event.actor).to.equal('Jane Doe');
  });

  it('looks a contact up by address, and searches the suppression list', async () => {
    await page.goto(`${base}/contacts`);
    await page.fill('input[name=email]', ' W0@Corp.Example ');
    await Promise.all([page.waitForURL(`${base}/contacts/w0%40corp.example`), page.press('input[name=email]', 'Enter')]);
    expect(await page.textContent('h1')).to.equal('w0@corp.example');
    await page.goto(`${base}/contacts?email=nobody@example.org`);
    expect(await page.textContent('[role=status]')).to.contain('No contact nobody@example.org.');

    await page.click('header nav >> text=Suppressions');
    const total = await count(app.db.knex.raw('SELECT COUNT(*) AS n FROM suppressions'));
    expect(await page.textContent('[data-testid=suppressions-count]')).to.equal(`${total} suppressions`);
    await page.fill('input[name=q]', 'corp.example');
    await Promise.all([page.waitForURL(/q=corp\.example/), page.press('input[name=q]', 'Enter')]);
    const rows = await cells('[data-testid=suppressions] tbody tr');
    const expected = (await app.db.knex('suppressions').where('email', 'like', '%corp.example%').select('email', 'reason')).map((r: { email: string; reason: string }) => `${r.email} ${r.reason}`);
    expect(rows.map((r) => `${r[0]} ${r[1]}`).sort()).to.deep.equal(expected.sort());
    expect(await page.textContent('[data-testid=suppressions-count]')).to.equal(`${expected.length} suppressions matching “corp.example”`);
  });

  it('signs out: the pages ask for the token again', async () => {
    await page.goto(`${base}/campaigns`);
    await Promise.all([page.waitForURL(/\/login/), page.click('text=Sign out')]);
    await page.goto(`${base}/campaigns`);
    expect(new URL(page.url()).pathname).to.equal('/login');
    expect(await context.cookies()).to.have.length(0);
  });
});
