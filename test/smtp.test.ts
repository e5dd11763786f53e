import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { sqlitePath } from '../src/storage/db.js';
import { testConfig, TEST_DOMAIN } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { Dialog, sendMail, type SmtpFailure } from './helpers/smtp.js';

describeEachDatabase('SMTP listener', (slot) => {
  let running: RunningServer;
  let port: number;
  before(async () => {
    const config = testConfig(slot.url, {
      smtp: { maxMessageBytes: 64 * 1024, maxRecipients: 3 },
      database: { busyTimeoutMs: 100, statementTimeoutMs: 500, acquireTimeoutMs: 2000 },
    });
    running = await startServer(await createApp(config, { logger: silentLogger }));
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
  const rp = (campaign: string, email: string) => encodeReturnPath(running.app.verp, campaign, email);

  it('accepts a DSN to a signed return path and answers 250 once it is stored', async () => {
    const to = rp('spring', 'alice@example.org');
    const res = await sendMail(port, { from: '', to: [to] }, makeDsn({ to, recipients: [{ recipient: 'alice@example.org', status: '5.1.1' }] }));
    expect(res.accepted).to.deep.equal([to]);
    expect(res.response).to.match(/^250 2\.0\.0 Ok: stored as \d+$/);
    const id = Number(/stored as (\d+)/.exec(res.response)![1]);
    expect(await knex()('messages').where({ id }).first()).to.include({ transport: 'smtp', mail_from: '', remote_address: '127.0.0.1', kind: 'bounce' });
    expect(await knex()('bounces').where({ message_id: id }).first()).to.include({ status_code: '5.1.1', type: 'hard', campaign_id: 'spring' });
    expect((await knex()('contacts').where({ email: 'alice@example.org' }).first()).state).to.equal('bounced');
  });

  it('refuses forged, foreign and malformed recipients at RCPT, and never relays', async () => {
    const { dialog, greeting } = await Dialog.open(port);
    try {
      expect(greeting).to.match(/^220 /);
      const ehlo = await dialog.command('EHLO client.example');
      expect(ehlo).to.match(/^250-/);
      expect(ehlo).not.to.match(/AUTH/);
      expect(await dialog.command('MAIL FROM:<>')).to.match(/^250/);
      const good = rp('c1', 'bob@example.org');
      const forged = good.replace(/-[a-z2-7]{13}@/, '-abcdefghijklm@');
      expect(await dialog.command(`RCPT TO:<${forged}>`)).to.equal('550 5.1.1 Recipient unknown: not a valid return path here');
      expect(await dialog.command(`RCPT TO:<${good.replace(TEST_DOMAIN, 'gmail.com')}>`)).to.equal('550 5.7.1 Relaying denied: not a bounce domain of this server');
      expect(await dialog.command(`RCPT TO:<victim%gmail.com@${TEST_DOMAIN}>`)).to.match(/^55\d 5\.1\.\d /);
      expect(await dialog.command(`RCPT TO:<"quoted"@${TEST_DOMAIN}>`)).to.match(/^55\d 5\.1\.\d /);
      expect(await dialog.command(`RCPT TO:<someone@${TEST_DOMAIN}>`)).to.match(/^550 5\.1\.1 /);
      expect(await dialog.command(`RCPT TO:<${good}>`)).to.match(/^250/);
      expect(await dialog.command(`RCPT TO:<postmaster@${TEST_DOMAIN}>`)).to.match(/^250/);
      expect(await dialog.command('RCPT TO:<Postmaster>')).to.match(/^250/);
      expect(await dialog.command('AUTH PLAIN AGF1c2VyAHBhc3M=')).to.match(/^5\d\d/);
    } finally {
      dialog.close();
    }
    expect(await count('messages')).to.equal(0);
    expect(await count('contacts')).to.equal(0);
  });

  it('limits the recipients of one message with 452 4.5.3', async () => {
    const { dialog } = await Dialog.open(port);
    try {
      await dialog.command('EHLO client.example');
      await dialog.command('MAIL FROM:<>');
      for (let i = 0; i < 3; i++) expect(await dialog.command(`RCPT TO:<${rp(`c${i}`, 'x@example.org')}>`)).to.match(/^250/);
      expect(await dialog.command(`RCPT TO:<${rp('c9', 'x@example.org')}>`)).to.equal('452 4.5.3 Too many recipients for one message');
    } finally {
      dialog.close();
    }
  });

  it('refuses a message over the size limit with 552 5.3.4 and stores nothing', async () => {
    const to = rp('c1', 'carol@example.org');
    const big = makeDsn({ to, recipients: [{ recipient: 'carol@example.org' }] }) + 'X'.repeat(100 * 1024);
    const err = (await sendMail(port, { from: '', to: [to] }, big).catch((e: SmtpFailure) => e)) as SmtpFailure;
    expect(err.responseCode).to.equal(552);
    expect(err.response).to.match(/^552 5\.3\.4 /);
    expect(await count('messages')).to.equal(0);
  });

  it('answers 250 to a redelivered message without storing it twice', async () => {
    const to = rp('c1', 'dan@example.org');
    const raw = makeDsn({ to, recipients: [{ recipient: 'dan@example.org', status: '5.2.2' }] });
    const first = await sendMail(port, { from: '', to: [to] }, raw);
    const again = await sendMail(port, { from: '', to: [to] }, raw);
    expect(first.response).to.match(/stored as (\d+)/);
    expect(again.response).to.equal(first.response.replace('stored as', 'already stored as'));
    expect(await count('messages')).to.equal(1);
    expect(await count('bounces')).to.equal(1);
  });

  it('answers 451 4.3.0 while the database cannot commit, leaves nothing half-written, and recovers', async () => {
    const to = rp('c1', 'erin@example.org');
    const raw = makeDsn({ to, recipients: [{ recipient: 'erin@example.org', status: '5.1.1' }] });
    const release = await holdWriteLock(slot.dialect, slot.url);
    let err: SmtpFailure;
    try {
      err = (await sendMail(port, { from: '', to: [to] }, raw).catch((e: SmtpFailure) => e)) as SmtpFailure;
    } finally {
      await release();
    }
    expect(err.responseCode).to.equal(451);
    expect(err.response).to.equal('451 4.3.0 Temporary local problem, please try again later');
    for (const table of ['messages', 'bounces', 'contacts', 'suppressions', 'contact_events', 'campaigns']) expect(await count(table), table).to.equal(0);
    const res = await sendMail(port, { from: '', to: [to] }, raw);
    expect(res.response).to.match(/^250 /);
    expect((await knex()('contacts').where({ email: 'erin@example.org' }).first()).state).to.equal('bounced');
  });

  it('keeps serving other sessions when a client sends junk', async () => {
    const { dialog } = await Dialog.open(port);
    await dialog.command('EHLO x');
    await dialog.command('MAIL FROM:<>');
    await dialog.command(`RCPT TO:<postmaster@${TEST_DOMAIN}>`);
    const reply = await dialog.data(Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 0, 0]));
    dialog.close();
    expect(reply).to.match(/^250 /);
    expect((await knex()('messages').first()).kind).to.be.a('string');
    const to = rp('c1', 'f@example.org');
    expect((await sendMail(port, { from: '', to: [to] }, makeDsn({ to, recipients: [{ recipient: 'f@example.org' }] }))).response).to.match(/^250 /);
  });
});

/**
 * Holds the database's write lock from another connection, as another process would:
 * SQLite, an open write transaction; PostgreSQL, an exclusive lock on the messages table.
 */
async function holdWriteLock(dialect: 'sqlite' | 'pg', url: string): Promise<() => Promise<void>> {
  const other: Knex =
    dialect === 'sqlite'
      ? knexFactory({ client: 'sqlite3', connection: { filename: sqlitePath(url) }, useNullAsDefault: true })
      : knexFactory({ client: 'pg', connection: url });
  const trx = await other.transaction();
  if (dialect === 'sqlite') await trx('automations').insert({ id: 'lock-holder', created_at: new Date().toISOString() });
  else await trx.raw('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
  return async () => {
    await trx.rollback();
    await other.destroy();
  };
}
