import { expect } from 'chai';
import { createApp, type App } from '../src/app.js';
import { contactKey, encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import type { IngestInput } from '../src/services/ingest.js';
import { testConfig, TEST_DOMAIN } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn, type DsnRecipient } from './helpers/dsn.js';

describeEachDatabase('ingest', (slot) => {
  let app: App;
  before(async () => {
    app = await createApp(testConfig(slot.url), { logger: silentLogger });
  });
  after(async () => {
    await app?.close();
  });
  beforeEach(async () => {
    await resetDatabase(app.db.knex);
  });

  const rp = (campaign: string, email: string) => encodeReturnPath(app.verp, campaign, email);
  const dsn = (campaign: string, email: string, r: Partial<DsnRecipient> = {}): IngestInput => {
    const to = rp(campaign, email);
    return { raw: Buffer.from(makeDsn({ to, recipients: [{ recipient: email, ...r }] })), mailFrom: '', rcptTo: [to], transport: 'smtp' };
  };
  const contact = (email: string) => app.db.knex('contacts').where({ email }).first();

  it('stores a hard bounce with code, type and description, and suppresses the contact', async () => {
    const result = await app.ingestor.ingest(dsn('spring', 'alice@example.org', { status: '5.1.1' }));
    expect(result).to.include({ outcome: 'stored', kind: 'bounce', status: 'processed', records: 1 });
    const b = await app.db.knex('bounces').first();
    expect(b).to.include({ campaign_id: 'spring', recipient: 'alice@example.org', kind: 'bounce', status_code: '5.1.1', status_source: 'status', type: 'hard', description: 'Bad destination mailbox address' });
    const c = await contact('alice@example.org');
    expect(c).to.include({ state: 'bounced', bounced_reason: 'hard_bounce', email_key: contactKey('alice@example.org') });
    expect(Number(c.bounce_id)).to.equal(Number(b.id));
    const s = await app.db.knex('suppressions').where({ email: 'alice@example.org' });
    expect(s.map((r) => [r.reason, Number(r.bounce_id)])).to.deep.equal([['hard_bounce', Number(b.id)]]);
    const events = await app.db.knex('contact_events').where({ contact_id: c.id });
    expect(events.map((e) => [e.event, e.from_state, e.to_state, e.actor])).to.deep.equal([['bounced', 'active', 'bounced', 'rebond']]);
    const m = await app.db.knex('messages').first();
    expect(Buffer.from(m.raw).toString()).to.contain('Final-Recipient: rfc822; alice@example.org');
  });

  it('bounces a contact after soft bounces on three distinct campaigns, counting a campaign once', async () => {
    const soft = { status: '4.2.2', diagnostic: '452 4.2.2 Mailbox over quota' };
    await app.ingestor.ingest(dsn('c1', 'bob@example.org', soft));
    await app.ingestor.ingest(dsn('c1', 'bob@example.org', { ...soft, diagnostic: '452 4.2.2 still over quota' }));
    await app.ingestor.ingest(dsn('c2', 'bob@example.org', soft));
    let c = await contact('bob@example.org');
    expect(c.state).to.equal('active');
    expect(JSON.parse(c.soft_campaigns)).to.deep.equal(['c1', 'c2']);
    const counted = await app.db.knex('bounces').orderBy('id').select('counted');
    expect(counted.map((r) => Boolean(r.counted))).to.deep.equal([true, false, true]);
    await app.ingestor.ingest(dsn('c3', 'bob@example.org', soft));
    c = await contact('bob@example.org');
    expect(c).to.include({ state: 'bounced', bounced_reason: 'soft_bounces' });
    expect((await app.db.knex('suppressions').where({ email: 'bob@example.org' })).map((r) => r.reason)).to.deep.equal(['soft_bounces']);
  });

  it('resets the soft streak on a delivery notice and never counts a delay', async () => {
    await app.ingestor.ingest(dsn('c1', 'carol@example.org', { status: '5.2.2' }));
    await app.ingestor.ingest(dsn('c2', 'carol@example.org', { action: 'delayed', status: '4.4.1' }));
    await app.ingestor.ingest(dsn('c3', 'carol@example.org', { action: 'delivered', status: '2.0.0', diagnostic: null }));
    await app.ingestor.ingest(dsn('c4', 'carol@example.org', { status: '5.2.2' }));
    await app.ingestor.ingest(dsn('c5', 'carol@example.org', { status: '5.2.2' }));
    const c = await contact('carol@example.org');
    expect(c.state).to.equal('active');
    expect(JSON.parse(c.soft_campaigns)).to.deep.equal(['c4', 'c5']);
    const kinds = await app.db.knex('bounces').orderBy('id').select('kind', 'type', 'counted');
    expect(kinds.map((k) => [k.kind, k.type, Boolean(k.counted)])).to.deep.equal([
      ['bounce', 'soft', true],
      ['delay', null, false],
      ['delivery', null, false],
      ['bounce', 'soft', true],
      ['bounce', 'soft', true],
    ]);
    const events = await app.db.knex('contact_events').orderBy('id').pluck('event');
    expect(events).to.deep.equal(['soft_bounce_counted', 'streak_reset', 'soft_bounce_counted', 'soft_bounce_counted']);
  });

  it('stores and counts a redelivered message once', async () => {
    const input = dsn('c1', 'dan@example.org', { status: '5.2.2' });
    const first = await app.ingestor.ingest(input);
    const crlfToLf = { ...input, raw: Buffer.from(input.raw.toString().replace(/\r\n/g, '\n')) };
    for (let i = 0; i < 3; i++) expect(await app.ingestor.ingest(i === 1 ? crlfToLf : input)).to.include({ outcome: 'duplicate', messageId: first.messageId });
    expect(await app.db.knex('messages').count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 1);
    expect(Number((await app.db.knex('messages').first()).duplicates)).to.equal(3);
    expect(Number((await app.db.knex('bounces').count({ n: '*' }).first())!.n)).to.equal(1);
    expect(JSON.parse((await contact('dan@example.org')).soft_campaigns)).to.deep.equal(['c1']);
  });

  it('identifies a bounce sent to postmaster@ by the return path in the returned headers', async () => {
    const email = 'erin@example.org';
    const raw = makeDsn({ to: `postmaster@${TEST_DOMAIN}`, recipients: [{ recipient: email, status: '5.1.1' }], originalHeaders: `Return-Path: <${rp('autumn', email)}>\nTo: ${email}\nSubject: Autumn` });
    const result = await app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [`postmaster@${TEST_DOMAIN}`], transport: 'smtp' });
    expect(result.status).to.equal('processed');
    expect(await app.db.knex('bounces').first()).to.include({ campaign_id: 'autumn', recipient: email, status_code: '5.1.1' });
    expect((await contact(email)).state).to.equal('bounced');
  });

  it('keeps a bounce without a valid token as unattributed, touching no contact', async () => {
    const forged = `bounce+c1-${contactKey('frank@example.org')}-aaaaaaaaaaaaa@${TEST_DOMAIN}`;
    const raw = makeDsn({ to: forged, recipients: [{ recipient: 'frank@example.org', status: '5.1.1' }], originalHeaders: `Return-Path: <${forged}>` });
    const result = await app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [`postmaster@${TEST_DOMAIN}`], transport: 'smtp' });
    expect(result.status).to.equal('unattributed');
    expect(await app.db.knex('contacts').count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 0);
    expect(await app.db.knex('bounces').first()).to.include({ contact_id: null, campaign_id: null, status_code: '5.1.1' });
  });

  it("keeps a bounce whose report does not name the token's unknown contact, without creating one", async () => {
    const to = rp('c1', 'grace@example.org');
    const raw = makeDsn({ to, recipients: [{ recipient: 'forwarded@elsewhere.example', status: '5.1.1' }] });
    const result = await app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [to], transport: 'smtp' });
    expect(result.status).to.equal('unattributed');
    expect(await app.db.knex('contacts').count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 0);
  });

  it('applies a bounce for a forwarded address to the contact the token names, once it is known', async () => {
    await app.ingestor.ingest(dsn('c1', 'heidi@example.org', { status: '5.2.2' }));
    const to = rp('c2', 'heidi@example.org');
    const raw = makeDsn({ to, recipients: [{ recipient: 'heidi.forward@elsewhere.example', status: '5.1.1' }] });
    await app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [to], transport: 'smtp' });
    expect((await contact('heidi@example.org')).state).to.equal('bounced');
  });

  it('records an auto-reply without touching the contact', async () => {
    await app.ingestor.ingest(dsn('c1', 'ivan@example.org', { status: '5.2.2' }));
    const to = rp('c2', 'ivan@example.org');
    const raw = `From: ivan@example.org\r\nTo: ${to}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n`;
    const result = await app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [to], transport: 'smtp' });
    expect(result).to.include({ kind: 'autoreply', records: 0 });
    expect(await app.db.knex('messages').where({ id: result.messageId }).first()).to.include({ kind: 'autoreply', campaign_id: 'c2', contact_key: contactKey('ivan@example.org') });
    expect(JSON.parse((await contact('ivan@example.org')).soft_campaigns)).to.deep.equal(['c1']);
  });

  it('never clears bounced when the contact is registered again', async () => {
    await app.ingestor.ingest(dsn('c1', 'judy@example.org', { status: '5.1.1' }));
    await app.uow.transaction((repos) => repos.contacts.ensure('judy@example.org', contactKey('judy@example.org'), new Date().toISOString()));
    expect((await contact('judy@example.org')).state).to.equal('bounced');
  });

  it('keeps every update when many bounces for one contact arrive at once', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => dsn(`c${i}`, 'kim@example.org', { status: '5.2.2' }));
    const results = await Promise.all(inputs.map((i) => app.ingestor.ingest(i)));
    expect(results.every((r) => r.outcome === 'stored')).to.equal(true);
    const c = await contact('kim@example.org');
    expect(c.state).to.equal('bounced');
    const bouncedEvents = await app.db.knex('contact_events').where({ event: 'bounced' });
    expect(bouncedEvents).to.have.length(1);
    expect(await app.db.knex('bounces').where({ counted: true }).count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 3);
  });
});
