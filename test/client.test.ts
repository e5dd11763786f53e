import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { checkAddress, contactKey, openClient, type RebondClient } from '../src/index.js';
import { unitOfWork } from '../src/storage/knex-repositories.js';
import { openDatabase } from '../src/storage/db.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { ROOT } from './helpers/process.js';
import { rejection } from './helpers/rejection.js';

describeEachDatabase('send pipeline library', (slot) => {
  let client: RebondClient;
  before(async () => {
    client = await openClient({ config: testConfig(slot.url) });
  });
  after(async () => {
    await client?.close();
  });

  it('makes return paths the receiver accepts and records each send with its Message-ID', async () => {
    const receipt = await client.recordSend({ campaignId: 'spring', email: ' Alice@Example.org', messageId: '<Out-1@Sender.example>', sentAt: '2026-11-20T08:00:00Z' });
    expect(receipt).to.deep.include({ campaignId: 'spring', email: 'alice@example.org', suppressed: false, reasons: [] });
    expect(receipt.returnPath).to.equal(client.returnPath('spring', 'alice@example.org'));
    const check = checkAddress({ prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET }, receipt.returnPath);
    expect(check).to.deep.include({ ok: true, kind: 'token', campaignId: 'spring', contactKey: contactKey('alice@example.org') });
    const db = openDatabase({ url: slot.url });
    try {
      const send = await unitOfWork(db).transaction((repos) => repos.sends.findByMessageId('out-1@sender.example'));
      expect(send).to.deep.include({ campaignId: 'spring', sentAt: '2026-11-20T08:00:00.000Z' });
    } finally {
      await db.close();
    }
    expect(() => client.returnPath('Not Valid!', 'a@example.org')).to.throw(/campaign id/);
    expect((await rejection(client.recordSend({ campaignId: 'spring', email: 'not-an-address' }))).message).to.match(/not an email address/);
  });

  it('records thousands of sends in one call and keeps the first record of a send', async () => {
    const emails = Array.from({ length: 2500 }, (_, i) => `bulk${i}@example.net`);
    const receipts = await client.recordSends(emails.map((email) => ({ campaignId: 'bulk', email, sentAt: '2026-11-21T00:00:00Z' })));
    expect(receipts).to.have.length(2500);
    await client.recordSends([{ campaignId: 'bulk', email: 'bulk0@example.net', sentAt: '2026-11-22T00:00:00Z' }]);
    const summary = await client.reports.campaignSummary('bulk');
    expect(summary).to.deep.include({ sentTo: 2500, recordedSends: 2500, bounced: 0, bounceRate: 0 });
  });

  it('registers automations and campaigns, moves a campaign into an automation, and keeps names', async () => {
    await client.registerCampaign({ id: 'news-1' });
    await client.registerAutomation({ id: 'onboarding', name: 'Onboarding' });
    await client.registerCampaign({ id: 'news-1', name: 'News 1', automationId: 'onboarding' });
    await client.registerCampaign({ id: 'news-1' });
    await client.registerAutomation({ id: 'onboarding' });
    let r = await client.reports.automation('onboarding');
    expect(r?.automation).to.deep.include({ name: 'Onboarding', campaigns: 1 });
    expect(r?.campaigns.map((c) => [c.id, c.name])).to.deep.equal([['news-1', 'News 1']]);
    await client.registerCampaign({ id: 'news-2', automationId: 'later' });
    expect((await client.reports.automation('later'))?.campaigns.map((c) => c.id)).to.deep.equal(['news-2']);
    await client.registerCampaign({ id: 'news-1', automationId: null });
    r = await client.reports.automation('onboarding');
    expect(r?.automation.campaigns).to.equal(0);
    expect((await rejection(client.registerCampaign({ id: 'UPPER' }))).message).to.match(/campaign id/);
  });

  it('checks suppression in bulk, in the order given, and reports a delivery', async () => {
    const to = client.returnPath('spring', 'bob@example.org');
    // The bounce arrives through a second connection, as it would from the receiver.
    const { createApp } = await import('../src/app.js');
    const { silentLogger } = await import('../src/logger.js');
    const receiver = await createApp(testConfig(slot.url), { logger: silentLogger });
    try {
      await receiver.ingestor.ingest({ raw: Buffer.from(makeDsn({ to, recipients: [{ recipient: 'bob@example.org', status: '5.1.1' }] })), mailFrom: '', rcptTo: [to], transport: 'smtp' });
    } finally {
      await receiver.close();
    }
    const statuses = await client.checkSuppressions(['nobody@example.org', 'BOB@example.org', 'bob@example.org']);
    expect(statuses.map((s) => [s.email, s.suppressed, s.reasons])).to.deep.equal([
      ['nobody@example.org', false, []],
      ['bob@example.org', true, ['hard_bounce']],
    ]);
    expect(await client.isSuppressed('bob@example.org')).to.equal(true);
    expect(await client.reportDelivery({ email: 'bob@example.org' })).to.deep.equal({ known: true, streakReset: false });
  });

  it('cannot be used once closed, and closes once', async () => {
    const other = await openClient({ config: testConfig(slot.url), migrate: false });
    await Promise.all([other.close(), other.close()]);
    expect(() => other.returnPath('c1', 'a@example.org')).to.throw(/closed/);
    expect((await rejection(other.isSuppressed('a@example.org'))).message).to.match(/closed/);
  });
});

describe('the rebond package', () => {
  it('does nothing on import: no file, no connection, nothing left running', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rebond-import-'));
    try {
      const script = `const m = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))}); if (typeof m.openClient !== 'function') process.exit(3);`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, env: { PATH: process.env['PATH'], REBOND_DATABASE_URL: `sqlite:${join(cwd, 'x.sqlite')}` }, encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.signal).to.equal(null);
      expect(readdirSync(cwd)).to.deep.equal([]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
