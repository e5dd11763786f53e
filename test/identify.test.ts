import { expect } from 'chai';
import { createApp, type App } from '../src/app.js';
import { contactKey, encodeReturnPath } from '../src/domain/verp.js';
import { parseMessage } from '../src/dsn/parse.js';
import { silentLogger } from '../src/logger.js';
import { identify } from '../src/services/identify.js';
import { testConfig, TEST_DOMAIN } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';

/** Finding the contact and campaign when the envelope recipient carries no usable token. */
describeEachDatabase('identification fallback', (slot) => {
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

  const postmaster = `postmaster@${TEST_DOMAIN}`;
  const ingest = (raw: string) => app.ingestor.ingest({ raw: Buffer.from(raw), mailFrom: '', rcptTo: [postmaster], transport: 'smtp' });
  const contact = (email: string) => app.db.knex('contacts').where({ email }).first();

  it('finds the send by an xtext-encoded return path in Original-Envelope-Id', async () => {
    const email = 'anna@example.org';
    const envid = encodeReturnPath(app.verp, 'winter', email).replace('+', '+2B');
    const raw = makeDsn({ to: postmaster, recipients: [{ recipient: email, status: '5.1.1' }], originalHeaders: 'Subject: no token here' }).replace('Reporting-MTA:', `Original-Envelope-Id: ${envid}\r\nReporting-MTA:`);
    const result = await ingest(raw);
    expect(result.status).to.equal('processed');
    expect(await app.db.knex('bounces').first()).to.include({ campaign_id: 'winter', recipient: email, status_code: '5.1.1' });
    expect((await contact(email)).state).to.equal('bounced');
  });

  it('finds the send by a bare token in Original-Envelope-Id', async () => {
    const email = 'ben@example.org';
    const token = encodeReturnPath(app.verp, 'w2', email).split('+')[1]!.split('@')[0]!;
    const raw = makeDsn({ to: postmaster, recipients: [{ recipient: email, status: '5.2.2' }], originalHeaders: 'Subject: no token here' }).replace('Reporting-MTA:', `Original-Envelope-Id: ${token}\r\nReporting-MTA:`);
    await ingest(raw);
    expect(await app.db.knex('bounces').first()).to.include({ campaign_id: 'w2', type: 'soft', status_code: '5.2.2' });
  });

  it('finds the send in the headers a text bounce quotes, even when its body is base64', async () => {
    const email = 'cleo@example.org';
    const body = [
      'Hi. This is the qmail-send program at mail.remote.example.',
      "I'm afraid I wasn't able to deliver your message to the following addresses.",
      "This is a permanent error; I've given up. Sorry it didn't work out.",
      '',
      `<${email}>:`,
      'Sorry, no mailbox here by that name. (#5.1.1)',
      '',
      '--- Below this line is a copy of the message.',
      '',
      `Return-Path: <${encodeReturnPath(app.verp, 'quoted', email)}>`,
      'From: News <news@sender.example>',
      `To: ${email}`,
      'Subject: Quoted',
      '',
    ].join('\r\n');
    const b64 = Buffer.from(body).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = `From: MAILER-DAEMON@mail.remote.example\r\nTo: ${postmaster}\r\nSubject: failure notice\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`;
    const result = await ingest(raw);
    expect(result.status).to.equal('processed');
    expect(await app.db.knex('bounces').first()).to.include({ campaign_id: 'quoted', recipient: email, status_code: '5.1.1', status_source: 'text' });
  });

  it("finds the send by the returned original's Message-ID recorded with the send", async () => {
    const email = 'dora@example.org';
    await app.uow.transaction(async (repos) => {
      const c = await repos.contacts.ensure(email, contactKey(email), new Date().toISOString());
      await repos.campaigns.ensure('by-id', new Date().toISOString());
      await repos.sends.record({ campaignId: 'by-id', contactId: c.id, sentAt: new Date().toISOString(), messageId: '<by-id.42@sender.example>' });
    });
    const raw = makeDsn({ to: postmaster, recipients: [{ recipient: email, status: '5.1.1' }], originalHeaders: `From: News <news@sender.example>\nTo: ${email}\nMessage-ID: <by-id.42@sender.example>\nSubject: Hello` });
    const result = await ingest(raw);
    expect(result.status).to.equal('processed');
    expect(await app.db.knex('bounces').first()).to.include({ campaign_id: 'by-id', recipient: email, status_code: '5.1.1' });
    expect((await contact(email)).state).to.equal('bounced');
  });

  it('keeps a bounce whose original Message-ID matches no send as unattributed', async () => {
    const raw = makeDsn({ to: postmaster, recipients: [{ recipient: 'eve@example.org', status: '5.1.1' }], originalHeaders: 'Message-ID: <unknown.1@sender.example>\nSubject: Hello' });
    expect((await ingest(raw)).status).to.equal('unattributed');
    expect(await app.db.knex('contacts').count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 0);
  });

  it('suppresses the contact of an ARF complaint with reason complaint, found in the reported message', async () => {
    const email = 'fay@example.org';
    const raw = [
      'From: Feedback Loop <fbl@isp.example>',
      `To: ${postmaster}`,
      'Subject: Abuse report',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="F"',
      '',
      '--F',
      'Content-Type: text/plain',
      '',
      'This is an email abuse report.',
      '--F',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: ExampleFBL/1.0',
      'Version: 1',
      `Original-Rcpt-To: <${email}>`,
      '--F',
      'Content-Type: message/rfc822',
      '',
      `Return-Path: <${encodeReturnPath(app.verp, 'fbl', email)}>`,
      `To: ${email}`,
      'Subject: Offer',
      '',
      'Body',
      '--F--',
      '',
    ].join('\r\n');
    const result = await ingest(raw);
    expect(result).to.include({ kind: 'complaint', status: 'processed' });
    expect(await app.db.knex('bounces').first()).to.include({ kind: 'complaint', campaign_id: 'fbl', recipient: email });
    expect((await app.db.knex('suppressions').where({ email })).map((s) => s.reason)).to.deep.equal(['complaint']);
  });
});

describe('identification of an auto-reply', () => {
  const settings = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: 'an auto-reply test secret' };

  it('names the contact that replied, through the report recipient', async () => {
    const rp = encodeReturnPath(settings, 'spring', 'erin@company.example');
    const raw = `From: Erin <Erin@Company.example>\r\nTo: ${rp}\r\nSubject: Out of Office: Spring news\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n`;
    const report = await parseMessage(Buffer.from(raw), { mailFrom: '' });
    const [target] = identify(settings, [rp], report, Buffer.from(raw));
    expect(target).to.include({ campaignId: 'spring', contactKey: contactKey('erin@company.example'), email: 'erin@company.example' });
    expect(target!.report).to.include({ recipient: 'erin@company.example', kind: 'autoreply', status: null, type: null });
  });
});
