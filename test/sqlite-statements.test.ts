import { expect } from 'chai';
import { contactKey } from '../src/domain/verp.js';
import { migrate, openDatabase, type Database } from '../src/storage/db.js';
import { repositoriesFor, unitOfWork } from '../src/storage/knex-repositories.js';
import type { Repositories } from '../src/storage/repositories.js';
import { sqliteTransaction } from '../src/storage/sqlite-repositories.js';
import { createSqlite } from './helpers/db.js';

/**
 * The SQLite ingest path writes its own SQL (prepared once per connection) instead of going
 * through the query builder. The same calls through both must leave the same rows.
 */

const AT = '2026-12-04T10:00:00.000Z';
const LATER = '2026-12-04T11:00:00.000Z';

/** Every repository call the ingest transaction makes, with values of each kind (null, boolean, blob). */
async function script(repos: Repositories): Promise<unknown[]> {
  const seen: unknown[] = [];
  await repos.campaigns.ensureAll([
    { id: 'c2', at: LATER },
    { id: 'c1', at: AT },
    { id: 'c2', at: AT },
  ]);
  await repos.campaigns.ensure('c3', AT);
  await repos.contacts.lockKeys([contactKey('a@example.org')]);
  const a = await repos.contacts.ensure('a@example.org', contactKey('a@example.org'), AT);
  // Refers to a contact and a campaign this transaction has just created.
  await repos.sends.record({ campaignId: 'c3', contactId: a.id, sentAt: AT, messageId: '<first@sender.example>' });
  seen.push(a, await repos.contacts.ensure('a@example.org', contactKey('a@example.org'), LATER));
  const m1 = await repos.messages.insertIfNew({
    fingerprint: 'f1',
    receivedAt: AT,
    transport: 'smtp',
    mailFrom: '',
    rcptTo: ['bounce+c1-x@bounces.example'],
    remoteAddress: '127.0.0.1',
    helo: 'mx.example',
    size: 5,
    raw: Buffer.from([0, 1, 2, 255, 10]),
    kind: 'bounce',
    format: 'rfc3464',
    status: 'processed',
    problems: ['one', 'two'],
    headerMessageId: '<m1@example>',
    campaignId: 'c1',
    contactKey: contactKey('a@example.org'),
  });
  await repos.messages.expect(['f2', 'f1', 'f2']);
  const m2 = await repos.messages.insertIfNew({ fingerprint: 'f2', receivedAt: LATER, transport: 'import', mailFrom: null, rcptTo: [], remoteAddress: null, helo: null, size: 0, raw: Buffer.alloc(0), kind: 'unknown', format: 'none', status: 'processed', problems: [], headerMessageId: null, campaignId: null, contactKey: null });
  await repos.messages.setStatus(m2!, 'unparseable');
  // After m2: a refused insert may use up an id on one path and not the other (gaps are harmless).
  const again = await repos.messages.insertIfNew({ fingerprint: 'f1', receivedAt: LATER, transport: 'import', mailFrom: null, rcptTo: [], remoteAddress: null, helo: null, size: 1, raw: null, kind: 'unknown', format: 'none', status: 'unparseable', problems: [], headerMessageId: null, campaignId: null, contactKey: null });
  seen.push(m1, m2, again, await repos.messages.recordDuplicate('f1', LATER), await repos.messages.recordDuplicate('nope', LATER));
  await repos.messages.setStatus(m1!, 'unattributed');
  const b1 = await repos.bounces.insert({ messageId: m1!, campaignId: 'c1', contactId: a.id, recipient: 'a@example.org', kind: 'bounce', action: 'failed', statusCode: '5.1.1', statusSource: 'status', type: 'hard', description: "it's a \\ 'quoted'\r\n'); DROP TABLE contacts; --", diagnostic: 'smtp; 550 5.1.1 \u0000 nul, é, 😀, \ud800 lone', remoteMta: 'mx.example', reportingMta: 'mta.example', counted: true, receivedAt: AT });
  const b2 = await repos.bounces.insert({ messageId: m1!, campaignId: null, contactId: null, recipient: null, kind: 'delay', action: null, statusCode: null, statusSource: null, type: null, description: null, diagnostic: null, remoteMta: null, reportingMta: null, counted: false, receivedAt: AT });
  seen.push(b1, b2);
  await repos.contacts.update(a.id, { state: 'bounced', softCampaigns: ['c1', 'c2'], complained: true, bouncedAt: AT, bouncedReason: 'hard_bounce', bounceId: b1, updatedAt: LATER });
  await repos.suppressions.add(a.id, a.email, 'hard_bounce', b1, AT);
  await repos.suppressions.add(a.id, a.email, 'hard_bounce', b2, LATER);
  await repos.suppressions.add(a.id, a.email, 'complaint', null, AT);
  seen.push(await repos.suppressions.remove(a.id, ['complaint', 'soft_bounces']));
  await repos.events.insert({ contactId: a.id, at: AT, event: 'bounced', fromState: 'active', toState: 'bounced', actor: 'rebond', detail: 'hard bounce 5.1.1', bounceId: b1 });
  await repos.sends.record({ campaignId: 'c1', contactId: a.id, sentAt: AT, messageId: '<Out-1@Sender.example>' });
  await repos.sends.record({ campaignId: 'c1', contactId: a.id, sentAt: LATER, messageId: null });
  seen.push(await repos.sends.findByMessageId('out-1@sender.example'), await repos.sends.findByMessageId('<none@x>'));
  seen.push(await repos.contacts.lockByKey(contactKey('a@example.org')), await repos.contacts.lockByEmail('a@example.org'), await repos.contacts.findById(a.id), await repos.contacts.findById(999));
  return seen;
}

const TABLES = ['campaigns', 'contacts', 'messages', 'bounces', 'suppressions', 'contact_events', 'sends'];

async function dump(db: Database): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = await db.knex.raw(`SELECT * FROM ${t} ORDER BY rowid`);
  return out;
}

/** The storage type of every value: a boolean stored as text, or a blob as text, would read back alike. */
async function types(db: Database, table: string): Promise<unknown[]> {
  const cols = ((await db.knex.raw(`PRAGMA table_info(${table})`)) as Array<{ name: string }>).map((c) => `typeof(${c.name})`);
  return db.knex.raw(`SELECT ${cols.join(', ')} FROM ${table} ORDER BY rowid`);
}

describe('storage [sqlite] prepared statements of the ingest path', () => {
  const dbs: Database[] = [];
  const open = async () => {
    const db = openDatabase({ url: createSqlite().url });
    dbs.push(db);
    await migrate(db);
    return db;
  };
  after(async () => {
    for (const db of dbs) await db.close();
  });

  it('leave the same rows, with the same storage types, as the query builder', async () => {
    const viaKnex = await open();
    const viaStatements = await open();
    const a = await viaKnex.knex.transaction((trx) => script(repositoriesFor(trx, 'sqlite')));
    const b = await sqliteTransaction(viaStatements, script);
    expect(b).to.deep.equal(a);
    expect(await dump(viaStatements)).to.deep.equal(await dump(viaKnex));
    for (const t of TABLES) expect(await types(viaStatements, t), t).to.deep.equal(await types(viaKnex, t));
    // Sanity: the script did write something of each kind.
    expect(((await dump(viaKnex))['bounces'] ?? []).length).to.equal(2);
  });

  it('roll back everything on failure and leave the connection usable, then close cleanly', async () => {
    const db = await open();
    const uow = unitOfWork(db);
    const err = await uow
      .transaction(async (repos) => {
        await repos.campaigns.ensure('gone', AT);
        // A foreign key the database refuses (an unknown message).
        await repos.bounces.insert({ messageId: 424242, campaignId: 'gone', contactId: null, recipient: null, kind: 'bounce', action: null, statusCode: null, statusSource: null, type: null, description: null, diagnostic: null, remoteMta: null, reportingMta: null, counted: false, receivedAt: AT });
      })
      .catch((e: Error & { code?: string }) => e);
    expect((err as { code?: string }).code).to.match(/^SQLITE_CONSTRAINT/);
    expect(await db.knex('campaigns').where({ id: 'gone' }).first()).to.equal(undefined);
    await uow.transaction((repos) => repos.campaigns.ensure('kept', AT));
    expect(await db.knex('campaigns').where({ id: 'kept' }).first()).to.include({ id: 'kept' });
    // The knex queries share the connection the statements are prepared on.
    expect(Number(((await db.knex('campaigns').count({ n: '*' }).first()) as { n: number }).n)).to.equal(1);
    // The next transaction takes the connection back from the query builder.
    // Ids are never reused, even when the last row was deleted (a replay moves bounces away).
    const first = await uow.transaction(async (repos) => {
      await repos.campaigns.ensure('c', AT);
      const m = await repos.messages.insertIfNew({ fingerprint: 'x1', receivedAt: AT, transport: 'smtp', mailFrom: '', rcptTo: [], remoteAddress: null, helo: null, size: 0, raw: null, kind: 'bounce', format: 'rfc3464', status: 'processed', problems: [], headerMessageId: null, campaignId: null, contactKey: null });
      return repos.bounces.insert({ messageId: m!, campaignId: 'c', contactId: null, recipient: null, kind: 'bounce', action: null, statusCode: null, statusSource: null, type: null, description: null, diagnostic: null, remoteMta: null, reportingMta: null, counted: false, receivedAt: AT });
    });
    await db.knex('bounces').where({ id: first }).delete();
    const second = await uow.transaction(async (repos) => {
      const m = await repos.messages.insertIfNew({ fingerprint: 'x2', receivedAt: AT, transport: 'smtp', mailFrom: '', rcptTo: [], remoteAddress: null, helo: null, size: 0, raw: null, kind: 'bounce', format: 'rfc3464', status: 'processed', problems: [], headerMessageId: null, campaignId: null, contactKey: null });
      return repos.bounces.insert({ messageId: m!, campaignId: 'c', contactId: null, recipient: null, kind: 'bounce', action: null, statusCode: null, statusSource: null, type: null, description: null, diagnostic: null, remoteMta: null, reportingMta: null, counted: false, receivedAt: AT });
    });
    expect(second).to.equal(first + 1);
    expect(await db.knex('bounces').where({ id: second }).first()).to.include({ id: second });
    dbs.splice(dbs.indexOf(db), 1);
    await db.close();
  });
});
