import { expect } from 'chai';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { contactKey, encodeReturnPath, makeToken } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig, TEST_DOMAIN } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { Dialog } from './helpers/smtp.js';

const OTHER_SECRET = 'another-secret-9d8c7b6a5f4e3d2c1b0a99887766554433';

/**
 * Forged and relayed recipients: every one is refused at RCPT (so no message is ever taken for
 * it), and nothing a forger sends creates a contact, a counted bounce or a suppression.
 */
describeEachDatabase('forgery and relay', (slot) => {
  let running: RunningServer;
  let port: number;
  before(async () => {
    running = await startServer(await createApp(testConfig(slot.url, { smtp: { shutdownTimeoutMs: 1000, maxRefusedRcptPerIp: 1000 } }), { logger: silentLogger }));
    port = running.address.port;
  });
  after(async () => {
    await running?.stop();
  });
  beforeEach(async () => {
    await resetDatabase(running.app.db.knex);
  });

  const knex = () => running.app.db.knex;
  const count = async (table: string) => Number((await knex()(table).count({ n: '*' }).first())!.n);
  const verp = () => running.app.verp;
  const prefix = 'bounce';

  /** Sends each recipient in one transaction and returns the replies. */
  async function rcptReplies(recipients: readonly string[]): Promise<string[]> {
    const { dialog } = await Dialog.open(port);
    try {
      await dialog.command('EHLO forger.example');
      expect(await dialog.command('MAIL FROM:<>')).to.match(/^250/);
      const out: string[] = [];
      for (const r of recipients) out.push(await dialog.command(`RCPT TO:<${r}>`));
      // Nothing was accepted, so there is no message to send.
      expect(await dialog.command('DATA')).to.match(/^503 /);
      return out;
    } finally {
      dialog.close();
    }
  }

  async function expectNothingStored(): Promise<void> {
    for (const table of ['messages', 'bounces', 'contacts', 'suppressions', 'contact_events', 'campaigns']) expect(await count(table), table).to.equal(0);
  }

  it('refuses tokens signed with another secret, truncated, altered or replayed for another campaign or contact', async () => {
    const email = 'victim@example.org';
    const good = encodeReturnPath(verp(), 'spring', email);
    const [local, domain] = good.split('@') as [string, string];
    const token = local.slice(prefix.length + 1);
    const sig = token.slice(-13);
    const key = contactKey(email);
    const otherKey = contactKey('someone-else@example.org');
    const flip = (c: string) => (c === 'a' ? 'b' : 'a');
    const forged: Record<string, string> = {
      'signed with another secret': `${prefix}+${makeToken(OTHER_SECRET, 'spring', email)}@${domain}`,
      'truncated by one character': `${local.slice(0, -1)}@${domain}`,
      'signature cut off': `${prefix}+spring-${key}@${domain}`,
      'one signature character changed': `${local.slice(0, -1)}${flip(local.slice(-1))}@${domain}`,
      'replayed for another campaign': `${prefix}+autumn-${key}-${sig}@${domain}`,
      'replayed for another contact': `${prefix}+spring-${otherKey}-${sig}@${domain}`,
      'without the prefix': `${token}@${domain}`,
      'with another prefix': `bouncex+${token}@${domain}`,
      'non-base32 signature': `${prefix}+spring-${key}-${'0'.repeat(13)}@${domain}`,
    };
    const replies = await rcptReplies(Object.values(forged));
    Object.keys(forged).forEach((name, i) => expect(replies[i], name).to.equal('550 5.1.1 Recipient unknown: not a valid return path here'));
    // Longer than a local part may be: refused as bad syntax.
    expect((await rcptReplies([`${prefix}+${token}-${token}@${domain}`]))[0]).to.equal('553 5.1.3 Bad recipient address syntax');
    await expectNothingStored();
    // The genuine token they were made from is accepted.
    const { dialog } = await Dialog.open(port);
    try {
      await dialog.command('EHLO mta.example');
      await dialog.command('MAIL FROM:<>');
      expect(await dialog.command(`RCPT TO:<${good}>`)).to.match(/^250/);
    } finally {
      dialog.close();
    }
  });

  it('accepts a valid token whatever the case the remote server gave it, and refuses a forged one in any case', async () => {
    const email = 'Case.Folded@Example.org';
    const good = encodeReturnPath(verp(), 'casecamp', email);
    const forged = encodeReturnPath({ ...verp(), secret: OTHER_SECRET }, 'casecamp', email);
    const { dialog } = await Dialog.open(port);
    try {
      await dialog.command('EHLO mta.example');
      await dialog.command('MAIL FROM:<>');
      expect(await dialog.command(`RCPT TO:<${forged.toUpperCase()}>`)).to.match(/^550 5\.1\.1 /);
      expect(await dialog.command(`RCPT TO:<${good.toUpperCase()}>`)).to.match(/^250/);
      const reply = await dialog.data(makeDsn({ to: good.toUpperCase(), recipients: [{ recipient: email, status: '5.1.1' }] }));
      expect(reply).to.match(/^250 /);
    } finally {
      dialog.close();
    }
    const contact = await knex()('contacts').where({ email: 'case.folded@example.org' }).first();
    expect(contact.state).to.equal('bounced');
    expect((await knex()('bounces').first()).campaign_id).to.equal('casecamp');
  });

  it('refuses foreign domains, source routes, quoted local parts, %-hacks and bang paths, even around a valid token', async () => {
    const good = encodeReturnPath(verp(), 'spring', 'victim@example.org');
    const local = good.split('@')[0]!;
    const cases: Record<string, [string, RegExp]> = {
      'a foreign domain': [`${local}@gmail.com`, /^550 5\.7\.1 /],
      'a subdomain of a bounce domain': [`${local}@x.${TEST_DOMAIN}`, /^550 5\.7\.1 /],
      'a bounce domain as a prefix': [`${local}@${TEST_DOMAIN}.evil.example`, /^550 5\.7\.1 /],
      'postmaster of a foreign domain': ['postmaster@gmail.com', /^550 5\.7\.1 /],
      'a source route': [`@relay.example:${good}`, /^553 5\.1\.3 /],
      'a source route with two hops': [`@a.example,@b.example:${good}`, /^553 5\.1\.3 /],
      'a quoted local part': [`"${local}"@${TEST_DOMAIN}`, /^553 5\.1\.3 /],
      'a quoted local part with an at sign': [`"victim@gmail.com"@${TEST_DOMAIN}`, /^5\d\d /],
      'a %-hack': [`victim%gmail.com@${TEST_DOMAIN}`, /^553 5\.1\.3 /],
      'a %-hack after a valid token': [`${local}%gmail.com@${TEST_DOMAIN}`, /^553 5\.1\.3 /],
      'a bang path': [`gmail.com!victim@${TEST_DOMAIN}`, /^553 5\.1\.3 /],
      'an address literal': [`${local}@[127.0.0.1]`, /^55\d 5\.\d\.\d /],
      'two at signs': [`${local}@gmail.com@${TEST_DOMAIN}`, /^5\d\d /],
    };
    const replies = await rcptReplies(Object.values(cases).map(([r]) => r));
    Object.entries(cases).forEach(([name, [, pattern]], i) => expect(replies[i], name).to.match(pattern));
    await expectNothingStored();
  });

  it('never attributes a message to postmaster@ by a forged token written in its body', async () => {
    const email = 'victim@example.org';
    const forged = `${prefix}+${makeToken(OTHER_SECRET, 'spring', email)}@${TEST_DOMAIN}`;
    const to = `postmaster@${TEST_DOMAIN}`;
    const raw = makeDsn({ to, recipients: [{ recipient: email, status: '5.1.1' }], originalHeaders: `Return-Path: <${forged}>\nFrom: news@sender.example\nTo: ${email}\nSubject: hi` });
    const { dialog } = await Dialog.open(port);
    try {
      await dialog.command('EHLO mta.example');
      await dialog.command('MAIL FROM:<>');
      expect(await dialog.command(`RCPT TO:<${to}>`)).to.match(/^250/);
      expect(await dialog.data(raw)).to.match(/^250 /);
    } finally {
      dialog.close();
    }
    const message = await knex()('messages').first();
    expect(message.status).to.equal('unattributed');
    expect(await count('contacts')).to.equal(0);
    expect(await count('suppressions')).to.equal(0);
    expect(Number((await knex()('bounces').whereNotNull('contact_id').count({ n: '*' }).first())!.n)).to.equal(0);
  });
});
