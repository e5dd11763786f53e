import { expect } from 'chai';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { sendMany } from './helpers/smtp.js';

/**
 * A remote server that lost our 250 delivers the same DSN again, possibly many times, possibly
 * on parallel connections: it is stored once and its effects are applied once.
 */
describeEachDatabase('redelivery', (slot) => {
  let running: RunningServer;
  let port: number;
  before(async () => {
    running = await startServer(await createApp(testConfig(slot.url, { smtp: { shutdownTimeoutMs: 1000 } }), { logger: silentLogger }));
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

  function dsn(campaign: string, email: string, status: string): { to: string; raw: string } {
    const to = encodeReturnPath(running.app.verp, campaign, email);
    return { to, raw: makeDsn({ to, recipients: [{ recipient: email, status }] }) };
  }

  async function storedOnce(email: string): Promise<{ id: number; duplicates: number }> {
    const messages = await knex()('messages');
    expect(messages).to.have.length(1);
    expect(await count('bounces')).to.equal(1);
    const contact = await knex()('contacts').where({ email }).first();
    expect(contact).to.not.equal(undefined);
    return { id: Number(messages[0].id), duplicates: Number(messages[0].duplicates) };
  }

  it('stores a DSN delivered twice once, and answers the second delivery 250 with the same id', async () => {
    const m = dsn('c1', 'twice@example.org', '5.1.1');
    const [first] = await sendMany(port, [{ from: '', to: [m.to], raw: m.raw }]);
    const [second] = await sendMany(port, [{ from: '', to: [m.to], raw: m.raw }]);
    expect(first).to.match(/^250 2\.0\.0 Ok: stored as \d+$/);
    expect(second).to.equal(first!.replace('stored as', 'already stored as'));
    const { duplicates } = await storedOnce('twice@example.org');
    expect(duplicates).to.equal(1);
    expect(await count('suppressions')).to.equal(1);
    expect(await count('contact_events')).to.equal(1);
  });

  it('counts a soft bounce delivered ten times, in one session and in several, once', async () => {
    const m = dsn('c1', 'ten@example.org', '4.2.2');
    const item = { from: '', to: [m.to], raw: m.raw };
    const inOneSession = await sendMany(port, Array.from({ length: 5 }, () => item));
    const inSeveral = [];
    for (let i = 0; i < 5; i++) inSeveral.push(...(await sendMany(port, [item])));
    const all = [...inOneSession, ...inSeveral];
    expect(all.every((r) => r.startsWith('250 '))).to.equal(true);
    expect(all.filter((r) => / stored as /.test(r) && !/already/.test(r))).to.have.length(1);
    const { duplicates } = await storedOnce('ten@example.org');
    expect(duplicates).to.equal(9);
    const contact = await knex()('contacts').where({ email: 'ten@example.org' }).first();
    expect(contact.state).to.equal('active');
    expect(JSON.parse(contact.soft_campaigns)).to.deep.equal(['c1']);
    expect(await count('contact_events')).to.equal(1);
  });

  it('stores a hard bounce delivered ten times at once on parallel connections once, with one suppression', async () => {
    const m = dsn('c2', 'parallel@example.org', '5.1.1');
    const replies = (await Promise.all(Array.from({ length: 10 }, () => sendMany(port, [{ from: '', to: [m.to], raw: m.raw }])))).flat();
    expect(replies.every((r) => r.startsWith('250 '))).to.equal(true);
    const ids = new Set(replies.map((r) => /stored as (\d+)/.exec(r)![1]));
    expect(ids.size).to.equal(1);
    const { duplicates } = await storedOnce('parallel@example.org');
    expect(duplicates).to.equal(9);
    expect(await count('suppressions')).to.equal(1);
    expect(await count('contact_events')).to.equal(1);
  });

  it('counts soft bounces of three campaigns, each redelivered, as three and bounces the contact once', async () => {
    const email = 'streak@example.org';
    const batch = ['s1', 's2', 's3'].map((c) => dsn(c, email, '4.2.2'));
    const items = batch.flatMap((m) => [m, m, m]).map((m) => ({ from: '', to: [m.to], raw: m.raw }));
    const replies = await sendMany(port, items);
    expect(replies.every((r) => r.startsWith('250 '))).to.equal(true);
    expect(await count('messages')).to.equal(3);
    expect(await count('bounces')).to.equal(3);
    const contact = await knex()('contacts').where({ email }).first();
    expect(contact.state).to.equal('bounced');
    expect(await count('suppressions')).to.equal(1);
    expect(await knex()('contact_events').where({ event: 'bounced' })).to.have.length(1);
  });
});
