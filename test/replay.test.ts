import { expect } from 'chai';
import { createApp, type App } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { bounceText } from '../src/dsn/decoders/bounce-text.js';
import type { Decoder } from '../src/dsn/types.js';
import { silentLogger } from '../src/logger.js';
import { applyPrepared, prepare } from '../src/services/ingest.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn, type DsnRecipient } from './helpers/dsn.js';
import { runCli } from './helpers/process.js';

/** An older parser that read every failure as a mailbox-full soft bounce. */
const everythingSoft: Decoder = {
  name: 'old-soft',
  decode(mail) {
    if (mail.deliveryStatus.length === 0) return null;
    const recipient = /final-recipient:\s*rfc822;\s*(\S+)/i.exec(mail.deliveryStatus[0]!)?.[1] ?? null;
    return { recipients: [{ recipient, action: 'failed', status: '4.2.2' }] };
  },
};

const DAY = 86_400_000;

describeEachDatabase('replay', (slot) => {
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

  const input = (campaign: string, email: string, r: Partial<DsnRecipient>, at = new Date()) => {
    const to = encodeReturnPath(app.verp, campaign, email);
    return { raw: Buffer.from(makeDsn({ to, recipients: [{ recipient: email, ...r }] })), mailFrom: '', rcptTo: [to], transport: 'smtp' as const, receivedAt: at };
  };
  /** Stores a message as a receiver running an older parser did. */
  const ingestWith = async (decoders: readonly Decoder[], i: ReturnType<typeof input>) => {
    const p = await prepare(i, app.verp, { decoders });
    return app.uow.transaction((repos) => applyPrepared(repos, p, 3));
  };
  const contact = (email: string) => app.db.knex('contacts').where({ email }).first();
  const count = async (table: string) => Number((await app.db.knex(table).count({ n: '*' }).first())!['n']);
  const snapshot = async () => ({
    bounces: await app.db.knex('bounces').orderBy('id').select('id', 'kind', 'type', 'status_code', 'counted', 'contact_id'),
    events: await count('contact_events'),
    suppressions: await app.db.knex('suppressions').orderBy(['contact_id', 'reason']).select('contact_id', 'reason', 'bounce_id'),
    contacts: await app.db.knex('contacts').orderBy('id').select('email', 'state', 'soft_campaigns', 'complained'),
    replaced: await count('replaced_bounces'),
  });

  it('applies a message the old parser could not read, once; a second replay changes nothing', async () => {
    await app.pipeline.recordSends([{ campaignId: 'c1', email: 'ann@example.org' }]);
    const stored = await ingestWith([], input('c1', 'ann@example.org', { status: '5.1.1' }));
    expect(stored.records).to.equal(0);
    expect((await contact('ann@example.org')).state).to.equal('active');

    const first = await app.replayer.replay();
    expect(first).to.deep.include({ examined: 1, changed: 1, unchanged: 0, recordsReplaced: 0, recordsWritten: 1, newlyCounted: 1, contactsBounced: 1 });
    expect(first.changes[0]!.before).to.deep.include({ kind: 'unknown', format: 'none', records: [] });
    expect(first.changes[0]!.after).to.deep.include({ kind: 'bounce', format: 'rfc3464', records: ['bounce hard 5.1.1 c1 ann@example.org'] });
    expect(await contact('ann@example.org')).to.include({ state: 'bounced', bounced_reason: 'hard_bounce' });
    const event = await app.db.knex('contact_events').first();
    expect(event).to.include({ event: 'bounced', actor: 'replay' });
    expect(event.detail).to.match(/replay of message \d+ received/);
    const message = await app.db.knex('messages').first();
    expect(message).to.include({ kind: 'bounce', format: 'rfc3464', status: 'processed' });
    expect(message.replayed_at).to.not.equal(null);

    const before = await snapshot();
    const second = await app.replayer.replay();
    expect(second).to.deep.include({ examined: 1, changed: 0, unchanged: 1, newlyCounted: 0 });
    expect(await snapshot()).to.deep.equal(before);
    expect((await app.reports.campaignSummary('c1'))!).to.deep.include({ sentTo: 1, bounced: 1, hard: 1 });
  });

  it('replaces a 9.1.1 record with the real soft code, keeps the old one, and never un-bounces the contact', async () => {
    await app.pipeline.recordSends([{ campaignId: 'c1', email: 'bob@example.org' }]);
    await ingestWith([bounceText], input('c1', 'bob@example.org', { status: '4.2.2', diagnostic: '452 4.2.2 Mailbox full' }));
    const old = await app.db.knex('bounces').first();
    expect(old).to.include({ status_code: '9.1.1', type: 'hard' });
    expect((await contact('bob@example.org')).state).to.equal('bounced');

    const r = await app.replayer.replay();
    expect(r).to.deep.include({ changed: 1, recordsReplaced: 1, newlyCounted: 0, contactsBounced: 0 });
    const now = await app.db.knex('bounces').first();
    expect(now).to.include({ status_code: '4.2.2', type: 'soft', recipient: 'bob@example.org' });
    expect(Boolean(now.counted)).to.equal(true);
    const replaced = await app.db.knex('replaced_bounces').first();
    expect(replaced).to.include({ status_code: '9.1.1', type: 'hard' });
    expect(Number(replaced.id)).to.equal(Number(old.id));
    expect(replaced.replaced_at).to.not.equal(null);
    expect(await contact('bob@example.org')).to.include({ state: 'bounced', bounced_reason: 'hard_bounce' });
    const [status] = await app.suppressions.check(['bob@example.org']);
    expect(status!.records[0]).to.deep.include({ reason: 'hard_bounce', bounceId: Number(old.id), statusCode: '9.1.1', campaignId: 'c1' });
    expect((await app.reports.campaignSummary('c1'))!).to.deep.include({ bounced: 1, hard: 0, soft: 1 });
    expect((await app.replayer.replay()).changed).to.equal(0);
  });

  it("keeps attributed a bounce found by its original's Message-ID, and finds one an old parser could not read the same way", async () => {
    const postmaster = `postmaster@${TEST_DOMAIN}`;
    await app.pipeline.recordSends([
      { campaignId: 'by-id', email: 'ida@example.org', messageId: '<replay.7@sender.example>' },
      { campaignId: 'by-id', email: 'joe@example.org', messageId: '<replay.8@sender.example>' },
    ]);
    // No return path anywhere: only the Message-ID of the returned original names the send.
    const lost = (email: string, id: string) => ({
      raw: Buffer.from(makeDsn({ to: postmaster, recipients: [{ recipient: email, status: '5.1.1' }], originalHeaders: `To: ${email}\nMessage-ID: ${id}\nSubject: Hello` })),
      mailFrom: '',
      rcptTo: [postmaster],
      transport: 'smtp' as const,
      receivedAt: new Date(),
    });
    const stored = await app.ingestor.ingest(lost('ida@example.org', '<replay.7@sender.example>'));
    expect(stored.status).to.equal('processed');
    expect(await contact('ida@example.org')).to.include({ state: 'bounced' });
    const before = await snapshot();
    expect(await app.replayer.replay()).to.deep.include({ examined: 1, changed: 0, unchanged: 1 });
    expect(await snapshot()).to.deep.equal(before);
    expect(await app.db.knex('messages').first()).to.include({ status: 'processed' });

    await ingestWith([], lost('joe@example.org', '<replay.8@sender.example>'));
    expect(await contact('joe@example.org')).to.include({ state: 'active' });
    expect(await app.replayer.replay()).to.deep.include({ examined: 2, changed: 1, unchanged: 1, newlyCounted: 1, contactsBounced: 1 });
    expect(await contact('joe@example.org')).to.include({ state: 'bounced', bounced_reason: 'hard_bounce' });
    expect(await app.db.knex('bounces').orderBy('id').pluck('campaign_id')).to.deep.equal(['by-id', 'by-id']);
  });

  it('bounces a contact whose soft record is now read as hard', async () => {
    await ingestWith([everythingSoft], input('c1', 'cleo@example.org', { status: '5.1.1' }));
    expect(await contact('cleo@example.org')).to.include({ state: 'active', soft_campaigns: '["c1"]' });
    const r = await app.replayer.replay();
    expect(r).to.deep.include({ changed: 1, newlyCounted: 1, contactsBounced: 1 });
    expect(await contact('cleo@example.org')).to.include({ state: 'bounced', bounced_reason: 'hard_bounce' });
    expect(await app.db.knex('suppressions').pluck('reason')).to.deep.equal(['hard_bounce']);
    expect((await app.replayer.replay()).newlyCounted).to.equal(0);
  });

  it("leaves uncounted a replayed bounce older than the operator's unbounce, or a soft one older than a delivery", async () => {
    const twoDaysAgo = new Date(Date.now() - 2 * DAY);
    await app.ingestor.ingest(input('c0', 'carl@example.org', { status: '5.1.1' }, new Date(Date.now() - 3 * DAY)));
    await ingestWith([], input('c1', 'carl@example.org', { status: '5.1.1' }, twoDaysAgo));
    await app.contacts.unbounce('carl@example.org', 'confirmed valid by phone', 'jane');

    await app.ingestor.ingest(input('c0', 'dana@example.org', { status: '4.2.2' }, new Date(Date.now() - 3 * DAY)));
    await ingestWith([], input('c1', 'dana@example.org', { status: '4.2.2' }, twoDaysAgo));
    await app.pipeline.reportDelivery({ email: 'dana@example.org' });

    const r = await app.replayer.replay();
    expect(r).to.deep.include({ changed: 2, newlyCounted: 0, contactsBounced: 0 });
    expect(await contact('carl@example.org')).to.include({ state: 'active' });
    expect(await contact('dana@example.org')).to.include({ state: 'active', soft_campaigns: '[]' });
    const records = await app.db.knex('bounces').where({ campaign_id: 'c1' }).orderBy('id');
    expect(records.map((b) => [b.status_code, Boolean(b.counted)])).to.deep.equal([
      ['5.1.1', false],
      ['4.2.2', false],
    ]);
  });

  it('skips messages whose raw bytes were pruned or cut at rawMaxBytes', async () => {
    const small = await createApp(testConfig(slot.url, { storage: { rawMaxBytes: 4096 } }), { logger: silentLogger, parse: { decoders: [] } });
    try {
      const big = input('c1', 'erin@example.org', { status: '5.1.1' });
      const padded = Buffer.from(big.raw.toString().replace('Your message could not be delivered', `${'x'.repeat(8000)}\r\nYour message could not be delivered`));
      await small.ingestor.ingest({ ...big, raw: padded });
    } finally {
      await small.close();
    }
    const cut = await app.db.knex('messages').first();
    expect(Number(cut.size)).to.be.greaterThan(8000);
    expect(Buffer.from(cut.raw).length).to.equal(4096);
    await ingestWith([], input('c1', 'finn@example.org', { status: '5.1.1' }, new Date(Date.now() - 400 * DAY)));
    expect((await app.retention.prune({ olderThanDays: 365 })).pruned).to.equal(1);
    const r = await app.replayer.replay();
    expect(r).to.deep.include({ examined: 2, skippedTruncated: 1, skippedPruned: 1, changed: 0 });
    expect(await count('bounces')).to.equal(0);
  });

  it('works out the changes in a dry run and writes nothing', async () => {
    await app.pipeline.recordSends([{ campaignId: 'c1', email: 'gia@example.org' }]);
    await ingestWith([bounceText], input('c1', 'gia@example.org', { status: '4.2.2' }));
    await ingestWith([], input('c1', 'hal@example.org', { status: '5.1.1' }));
    const before = await snapshot();
    const dry = await app.replayer.replay({ dryRun: true });
    expect(dry).to.deep.include({ dryRun: true, changed: 2, newlyCounted: 1, contactsBounced: 1 });
    expect(await snapshot()).to.deep.equal(before);
    const real = await app.replayer.replay();
    expect(real).to.deep.include({ changed: 2, newlyCounted: 1, contactsBounced: 1 });
  });

  it('replays only the messages received since a date', async () => {
    await ingestWith([], input('c1', 'ida@example.org', { status: '5.1.1' }, new Date('2026-10-01T00:00:00Z')));
    await ingestWith([], input('c1', 'jon@example.org', { status: '5.1.1' }, new Date('2026-11-01T00:00:00Z')));
    const r = await app.replayer.replay({ since: '2026-10-15T00:00:00.000Z' });
    expect(r).to.deep.include({ examined: 1, changed: 1 });
    expect((await contact('ida@example.org'))?.state ?? 'unknown').to.not.equal('bounced');
    expect((await contact('jon@example.org')).state).to.equal('bounced');
  });

  it('never counts twice when two replays run at the same time', async () => {
    for (let i = 0; i < 6; i++) await ingestWith([], input(`c${i}`, `kai${i}@example.org`, { status: '5.1.1' }));
    const [a, b] = await Promise.all([app.replayer.replay(), app.replayer.replay()]);
    expect(a!.newlyCounted + b!.newlyCounted).to.equal(6);
    expect(a!.changed + b!.changed).to.equal(6);
    expect(await count('bounces')).to.equal(6);
    expect(await app.db.knex('contact_events').where({ event: 'bounced' })).to.have.length(6);
    expect(await count('suppressions')).to.equal(6);
  });

  it('runs from the command line, then finds nothing more to do', async () => {
    await ingestWith([], input('c1', 'lea@example.org', { status: '5.1.1' }));
    const env = { REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN };
    const first = runCli(['replay', '--json'], env);
    expect(first.status, first.stderr).to.equal(0);
    expect(JSON.parse(first.stdout)).to.deep.include({ examined: 1, changed: 1, newlyCounted: 1 });
    const second = runCli(['replay', '--since', '30d'], env);
    expect(second.status, second.stderr).to.equal(0);
    expect(second.stdout).to.match(/│ changed\s+│\s+0 │/);
  });
});
