import { expect } from 'chai';
import { createApp, type App } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import { silentLogger } from '../src/logger.js';
import { makeArf, testArf } from './helpers/arf.js';
import { testConfig } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn, type DsnRecipient } from './helpers/dsn.js';

/**
 * Report definitions on a small hand-made data set whose every figure is known:
 *
 * promo (direct), sent to a b c @x, d e @y:       welcome (automation): w1 sent to g h @z,
 *   a hard 5.1.1; b soft 4.2.2 twice;              w2 sent to g h i @z;
 *   c delayed; d complaint; e delivery notice;    g hard 5.1.1 on w1 (October), h soft on w2.
 *   f@y soft 5.2.2 with no recorded send;
 *   ghost's token, report about another address.
 */
describeEachDatabase('reports', (slot) => {
  let app: App;
  before(async () => {
    app = await createApp(testConfig(slot.url), { logger: silentLogger, parse: { decoders: [testArf, ...DECODERS] } });
    await resetDatabase(app.db.knex);
    await seed(app);
  });
  after(async () => {
    await app?.close();
  });

  it('summarises a campaign: contacts sent to include those that bounced without a recorded send', async () => {
    const s = await app.reports.campaignSummary('promo');
    expect(s).to.deep.include({
      id: 'promo',
      name: 'Promo',
      automationId: null,
      sentTo: 6,
      recordedSends: 5,
      bounced: 3,
      hard: 1,
      soft: 2,
      bounceRate: 50,
      delayed: 1,
      complained: 1,
      delivered: 1,
      bounceRecords: 5,
      unknownContactRecords: 1,
    });
  });

  it('lists each bounced contact once with date, code, type and description, in any order asked', async () => {
    const r = (await app.reports.campaign('promo'))!;
    expect(r.bounces.total).to.equal(3);
    expect(r.bounces.items.map((b) => [b.email, b.code, b.type, b.description, b.bounces])).to.deep.equal([
      ['a@x.example', '5.1.1', 'hard', 'Bad destination mailbox address', 1],
      ['b@x.example', '4.2.2', 'soft', 'Mailbox over quota', 2],
      ['f@y.example', '5.2.2', 'soft', 'Mailbox full', 1],
    ]);
    expect(r.bounces.items[0]!.date).to.equal('2026-11-11T10:00:00.000Z');
    const byCode = await app.reports.bouncedContacts('promo', { sort: 'code', direction: 'desc' });
    expect(byCode.items.map((b) => b.code)).to.deep.equal(['5.2.2', '5.1.1', '4.2.2']);
    const byType = await app.reports.bouncedContacts('promo', { sort: 'type' });
    expect(byType.items.map((b) => b.type)).to.deep.equal(['hard', 'soft', 'soft']);
    const page = await app.reports.bouncedContacts('promo', { sort: 'email', limit: 2, offset: 2 });
    expect(page).to.deep.include({ total: 3, limit: 2, offset: 2 });
    expect(page.items.map((b) => b.email)).to.deep.equal(['f@y.example']);
  });

  it('reports an automation as its campaigns, each with the same summary, and their sum', async () => {
    const r = (await app.reports.automation('welcome'))!;
    expect(r.automation).to.deep.include({ id: 'welcome', name: 'Welcome series', campaigns: 2, sentTo: 5, bounced: 2, hard: 1, soft: 1, bounceRate: 40 });
    expect(r.campaigns.map((c) => [c.id, c.sentTo, c.bounced, c.hard, c.soft, c.bounceRate])).to.deep.equal([
      ['w1', 2, 1, 1, 0, 50],
      ['w2', 3, 1, 0, 1, 33.33],
    ]);
    const list = await app.reports.automations();
    expect(list.total).to.equal(2);
    expect(list.items.map((a) => [a.id, a.campaigns, a.sentTo, a.bounced, a.bounceRate])).to.deep.equal([
      ['empty', 0, 0, 0, null],
      ['welcome', 2, 5, 2, 40],
    ]);
    expect(await app.reports.automation('nope')).to.equal(null);
  });

  it('lists campaigns by kind, newest or oldest first', async () => {
    const direct = await app.reports.campaigns({ direct: true });
    expect(direct.items.map((c) => c.id)).to.deep.equal(['promo']);
    const inWelcome = await app.reports.campaigns({ automationId: 'welcome', order: 'oldest' });
    expect(inWelcome.items.map((c) => c.id)).to.deep.equal(['w1', 'w2']);
    const all = await app.reports.campaigns({}, { limit: 2 });
    expect(all.total).to.equal(3);
    expect(all.items).to.have.length(2);
  });

  it('counts per recipient domain, sorted by bounces, by rate, and since a date', async () => {
    const byBounced = await app.reports.domains();
    expect(byBounced.items.map((d) => [d.domain, d.sentTo, d.bounced, d.hard, d.soft, d.delayed, d.complained, d.bounceRate, d.topCode, d.topCodeRecords])).to.deep.equal([
      ['z.example', 5, 2, 1, 1, 0, 0, 40, '4.2.2', 1],
      ['x.example', 3, 2, 1, 1, 1, 0, 66.67, '4.2.2', 2],
      ['y.example', 3, 1, 0, 1, 0, 1, 33.33, '5.2.2', 1],
    ]);
    expect((await app.reports.domains({ sort: 'rate' })).items.map((d) => d.domain)).to.deep.equal(['x.example', 'z.example', 'y.example']);
    expect((await app.reports.domains({ minSent: 4 })).items.map((d) => d.domain)).to.deep.equal(['z.example']);
    const recent = await app.reports.domains({ since: '2026-11-01T00:00:00.000Z', sort: 'domain' });
    expect(recent.items.find((d) => d.domain === 'z.example')).to.deep.include({ sentTo: 3, bounced: 1, hard: 0, soft: 1 });
  });

  it('gives a campaign nobody was sent to a null rate, and an unknown campaign no report', async () => {
    await app.pipeline.registerCampaign({ id: 'nobody', name: null });
    expect(await app.reports.campaignSummary('nobody')).to.deep.include({ sentTo: 0, bounced: 0, bounceRate: null });
    expect(await app.reports.campaign('missing')).to.equal(null);
    await app.db.knex('campaigns').where({ id: 'nobody' }).delete();
  });
});

async function seed(app: App): Promise<void> {
  const rp = (campaign: string, email: string) => encodeReturnPath(app.verp, campaign, email);
  const dsn = async (campaign: string, email: string, r: Partial<DsnRecipient>, at: string, reportAbout = email) => {
    const to = rp(campaign, email);
    const raw = makeDsn({ to, recipients: [{ recipient: reportAbout, ...r }] });
    await app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [to], transport: 'smtp', receivedAt: new Date(at) });
  };
  await app.pipeline.registerAutomation({ id: 'welcome', name: 'Welcome series' });
  await app.pipeline.registerAutomation({ id: 'empty' });
  await app.pipeline.registerCampaign({ id: 'w1', name: 'Welcome 1', automationId: 'welcome' });
  await app.pipeline.registerCampaign({ id: 'w2', name: 'Welcome 2', automationId: 'welcome' });
  await app.pipeline.registerCampaign({ id: 'promo', name: 'Promo' });
  await app.db.knex('campaigns').where({ id: 'w1' }).update({ created_at: '2026-10-01T00:00:00.000Z' });
  await app.db.knex('campaigns').where({ id: 'w2' }).update({ created_at: '2026-11-01T00:00:00.000Z' });
  await app.db.knex('campaigns').where({ id: 'promo' }).update({ created_at: '2026-11-10T00:00:00.000Z' });

  const at = '2026-11-10T09:00:00.000Z';
  await app.pipeline.recordSends(['a', 'b', 'c'].map((n) => ({ campaignId: 'promo', email: `${n}@x.example`, sentAt: at })));
  await app.pipeline.recordSends(['d', 'e'].map((n) => ({ campaignId: 'promo', email: `${n}@y.example`, sentAt: at })));
  await app.pipeline.recordSends(['g', 'h'].map((n) => ({ campaignId: 'w1', email: `${n}@z.example`, sentAt: '2026-10-01T09:00:00.000Z' })));
  await app.pipeline.recordSends(['g', 'h', 'i'].map((n) => ({ campaignId: 'w2', email: `${n}@z.example`, sentAt: at })));

  await dsn('promo', 'a@x.example', { status: '5.1.1' }, '2026-11-11T10:00:00.000Z');
  await dsn('promo', 'b@x.example', { status: '4.2.2', diagnostic: '452 4.2.2 over quota' }, '2026-11-11T10:01:00.000Z');
  await dsn('promo', 'b@x.example', { status: '4.2.2', diagnostic: '452 4.2.2 still over quota' }, '2026-11-12T10:01:00.000Z');
  await dsn('promo', 'c@x.example', { action: 'delayed', status: '4.4.7' }, '2026-11-11T10:02:00.000Z');
  await dsn('promo', 'e@y.example', { action: 'delivered', status: '2.0.0', diagnostic: null }, '2026-11-11T10:03:00.000Z');
  await dsn('promo', 'f@y.example', { status: '5.2.2' }, '2026-11-11T10:04:00.000Z');
  await dsn('promo', 'ghost@x.example', { status: '5.1.1' }, '2026-11-11T10:05:00.000Z', 'forwarded@elsewhere.example');
  const to = rp('promo', 'd@y.example');
  await app.ingestor.ingest({ raw: Buffer.from(makeArf({ to, recipient: 'd@y.example' })), mailFrom: '', rcptTo: [to], transport: 'smtp', receivedAt: new Date('2026-11-11T10:06:00.000Z') });
  await dsn('w1', 'g@z.example', { status: '5.1.1' }, '2026-10-05T10:00:00.000Z');
  await dsn('w2', 'h@z.example', { status: '4.2.2' }, '2026-11-11T11:00:00.000Z');
}
