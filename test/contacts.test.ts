import { expect } from 'chai';
import { createApp, type App } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import { silentLogger } from '../src/logger.js';
import { OperatorError } from '../src/services/contacts.js';
import { makeArf, testArf } from './helpers/arf.js';
import { testConfig } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';

describeEachDatabase('contacts and operator actions', (slot) => {
  let app: App;
  before(async () => {
    app = await createApp(testConfig(slot.url), { logger: silentLogger, parse: { decoders: [testArf, ...DECODERS] } });
  });
  after(async () => {
    await app?.close();
  });
  beforeEach(async () => {
    await resetDatabase(app.db.knex);
  });

  const bounce = async (campaign: string, email: string, status: string, at = new Date()) => {
    const to = encodeReturnPath(app.verp, campaign, email);
    return app.ingestor.ingest({ raw: Buffer.from(makeDsn({ to, recipients: [{ recipient: email, status }] })), mailFrom: '', rcptTo: [to], transport: 'smtp', receivedAt: at });
  };
  const complaint = async (campaign: string, email: string) => {
    const to = encodeReturnPath(app.verp, campaign, email);
    return app.ingestor.ingest({ raw: Buffer.from(makeArf({ to, recipient: email })), mailFrom: '', rcptTo: [to], transport: 'smtp' });
  };
  const contactRow = (email: string) => app.db.knex('contacts').where({ email }).first();
  const refusal = async (p: Promise<unknown>): Promise<OperatorError> => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, 'expected a refusal').to.be.instanceOf(OperatorError);
    return err as OperatorError;
  };

  it("shows a contact's state, soft streak, suppressions, history and audit trail", async () => {
    await app.pipeline.recordSends([{ campaignId: 'c1', email: 'Ann@Example.org' }]);
    await bounce('c1', 'ann@example.org', '4.2.2', new Date('2026-11-01T10:00:00Z'));
    await bounce('c2', 'ann@example.org', '5.2.2', new Date('2026-11-02T10:00:00Z'));
    let view = (await app.contacts.show(' ANN@example.org '))!;
    expect(view).to.deep.include({ softStreak: 2, softThreshold: 3, suppressed: false, sends: 1 });
    expect(view.contact).to.deep.include({ email: 'ann@example.org', state: 'active', softCampaigns: ['c1', 'c2'] });
    expect(view.history.items.map((r) => [r.campaignId, r.statusCode, r.type, r.counted])).to.deep.equal([
      ['c2', '5.2.2', 'soft', true],
      ['c1', '4.2.2', 'soft', true],
    ]);
    await bounce('c3', 'ann@example.org', '5.1.1', new Date('2026-11-03T10:00:00Z'));
    view = (await app.contacts.show('ann@example.org'))!;
    expect(view.contact).to.deep.include({ state: 'bounced', bouncedReason: 'hard_bounce', softCampaigns: [] });
    expect(view.suppressions.map((s) => [s.reason, s.campaignId, s.statusCode])).to.deep.equal([['hard_bounce', 'c3', '5.1.1']]);
    expect(view.events.items.map((e) => [e.event, e.actor])).to.deep.equal([
      ['soft_bounce_counted', 'rebond'],
      ['soft_bounce_counted', 'rebond'],
      ['bounced', 'rebond'],
    ]);
    expect(view.history.total).to.equal(3);
    expect(await app.contacts.show('nobody@example.org')).to.equal(null);
  });

  it('refuses to unbounce without a reason or an operator, and a contact unknown or not bounced', async () => {
    await bounce('c1', 'bob@example.org', '5.1.1');
    await bounce('c1', 'active@example.org', '4.2.2');
    expect((await refusal(app.contacts.unbounce('bob@example.org', '  ', 'jane'))).code).to.equal('invalid');
    expect((await refusal(app.contacts.unbounce('bob@example.org', 'valid address', ''))).code).to.equal('invalid');
    expect((await refusal(app.contacts.unbounce('ghost@example.org', 'valid', 'jane'))).code).to.equal('not_found');
    expect((await refusal(app.contacts.unbounce('active@example.org', 'valid', 'jane'))).code).to.equal('not_bounced');
    expect(await contactRow('bob@example.org')).to.include({ state: 'bounced' });
    expect(await app.db.knex('contact_events').where({ event: 'unbounced' })).to.have.length(0);
  });

  it('unbounces: the contact is active again, its bounce suppression goes, a complaint stays, and it is audited', async () => {
    await complaint('c1', 'carl@example.org');
    await bounce('c2', 'carl@example.org', '5.1.1');
    const r = await app.contacts.unbounce('Carl@example.org', 'mailbox restored, checked with the customer', 'jane');
    expect(r).to.deep.include({ email: 'carl@example.org', removed: ['hard_bounce'], stillSuppressed: ['complaint'] });
    const c = await contactRow('carl@example.org');
    expect(c).to.include({ state: 'active', soft_campaigns: '[]', bounced_at: null, bounced_reason: null, bounce_id: null });
    expect(await app.db.knex('suppressions').where({ contact_id: c.id }).pluck('reason')).to.deep.equal(['complaint']);
    const events = await app.db.knex('contact_events').where({ contact_id: c.id }).orderBy('id');
    expect(events.map((e) => [e.event, e.from_state, e.to_state, e.actor])).to.deep.equal([
      ['complained', 'active', 'active', 'rebond'],
      ['bounced', 'active', 'bounced', 'rebond'],
      ['unbounced', 'bounced', 'active', 'jane'],
    ]);
    expect(events[2].detail).to.equal('by jane: mailbox restored, checked with the customer');
    // The rules still apply afterwards: a new hard bounce bounces the contact again.
    await bounce('c3', 'carl@example.org', '5.1.1');
    expect(await contactRow('carl@example.org')).to.include({ state: 'bounced' });
  });

  it('lets one of two concurrent unbounces of a contact win and refuses the other', async () => {
    await bounce('c1', 'dora@example.org', '5.1.1');
    const results = await Promise.allSettled([app.contacts.unbounce('dora@example.org', 'one', 'jane'), app.contacts.unbounce('dora@example.org', 'two', 'joe')]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as OperatorError).code).to.equal('not_bounced');
    expect(await app.db.knex('contact_events').where({ event: 'unbounced' })).to.have.length(1);
  });

  it('never clears bounced or a suppression when the send pipeline registers or sends to the contact again', async () => {
    await bounce('c1', 'eve@example.org', '5.1.1');
    const [status] = await app.pipeline.registerContacts(['EVE@example.org', 'new@example.org']);
    expect(status).to.deep.equal({ email: 'eve@example.org', state: 'bounced', suppressed: true, reasons: ['hard_bounce'] });
    const receipts = await app.pipeline.recordSends([
      { campaignId: 'c2', email: 'eve@example.org' },
      { campaignId: 'c2', email: 'new@example.org' },
    ]);
    expect(receipts.map((r) => [r.email, r.suppressed, r.reasons])).to.deep.equal([
      ['eve@example.org', true, ['hard_bounce']],
      ['new@example.org', false, []],
    ]);
    expect(await contactRow('eve@example.org')).to.include({ state: 'bounced', bounced_reason: 'hard_bounce' });
    expect(await app.db.knex('suppressions').where({ email: 'eve@example.org' })).to.have.length(1);
    expect(await app.db.knex('contact_events').whereNot({ event: 'bounced' })).to.have.length(0);
  });

  it('ends a row of soft bounces when the send pipeline reports a delivery, audited, and never clears bounced', async () => {
    await bounce('c1', 'fay@example.org', '4.2.2');
    await bounce('c2', 'fay@example.org', '4.2.2');
    expect(await app.pipeline.reportDelivery({ email: 'fay@example.org', campaignId: 'c3' })).to.deep.equal({ known: true, streakReset: true });
    expect(await app.pipeline.reportDelivery({ email: 'fay@example.org', campaignId: 'c3' })).to.deep.equal({ known: true, streakReset: false });
    await bounce('c4', 'fay@example.org', '4.2.2');
    expect(await contactRow('fay@example.org')).to.include({ state: 'active', soft_campaigns: '["c4"]' });
    const reset = await app.db.knex('contact_events').where({ event: 'streak_reset' }).first();
    expect(reset).to.include({ actor: 'send-pipeline' });
    expect(reset.detail).to.contain('campaign c3');
    expect(await app.pipeline.reportDelivery({ email: 'nobody@example.org' })).to.deep.equal({ known: false, streakReset: false });
    await bounce('c5', 'gus@example.org', '5.1.1');
    await app.pipeline.reportDelivery({ email: 'gus@example.org' });
    expect(await contactRow('gus@example.org')).to.include({ state: 'bounced' });
  });
});
