import { expect } from 'chai';
import { migrate, openDatabase, type Database } from '../src/storage/db.js';
import { repositoriesFor, unitOfWork } from '../src/storage/knex-repositories.js';
import { sqliteTransaction } from '../src/storage/sqlite-repositories.js';
import { createSqlite } from './helpers/db.js';
import { AT, repositoryScript as script } from './helpers/repository-script.js';

/**
 * The SQLite ingest path writes its own SQL (prepared once per connection) instead of going
 * through the query builder. The same calls through both must leave the same rows.
 */

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
