import { expect } from 'chai';
import { contactKey } from '../src/domain/verp.js';
import { migrate, openDatabase, type Database } from '../src/storage/db.js';
import { MIGRATIONS } from '../src/storage/migrations/index.js';
import { unitOfWork } from '../src/storage/knex-repositories.js';
import { createSqlite, describeEachDatabase } from './helpers/db.js';

describeEachDatabase('storage', (slot) => {
  let db: Database;
  before(async () => {
    db = openDatabase({ url: slot.url });
    await migrate(db);
  });
  after(async () => {
    await db?.close();
  });

  it('runs migrations once, however often it is asked', async () => {
    expect(await migrate(db)).to.deep.equal([]);
    expect(await db.knex('rebond_migrations').count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === MIGRATIONS.length);
  });

  it('records a send once and finds it by Message-ID with or without brackets', async () => {
    const uow = unitOfWork(db);
    const at = '2026-11-28T08:00:00.000Z';
    await uow.transaction(async (repos) => {
      await repos.campaigns.ensure('c1', at);
      const c = await repos.contacts.ensure('a@example.org', contactKey('a@example.org'), at);
      await repos.sends.record({ campaignId: 'c1', contactId: c.id, sentAt: at, messageId: '<Msg-1@Sender.example>' });
      await repos.sends.record({ campaignId: 'c1', contactId: c.id, sentAt: '2026-11-29T00:00:00.000Z', messageId: 'other@sender.example' });
    });
    const found = await uow.transaction((repos) => repos.sends.findByMessageId('msg-1@sender.example'));
    expect(found).to.include({ campaignId: 'c1', sentAt: at, messageId: 'msg-1@sender.example' });
    expect(await uow.transaction((repos) => repos.sends.findByMessageId('<nothing@x>'))).to.equal(null);
  });

  it('rolls a failed transaction back entirely', async () => {
    const uow = unitOfWork(db);
    const at = new Date().toISOString();
    const err = await uow
      .transaction(async (repos) => {
        await repos.campaigns.ensure('rollback-me', at);
        throw new Error('boom');
      })
      .catch((e: Error) => e);
    expect((err as Error).message).to.equal('boom');
    expect(await db.knex('campaigns').where({ id: 'rollback-me' }).first()).to.equal(undefined);
  });
});

describe('storage [sqlite] opening a fresh file', () => {
  it('switches a new file to WAL from six connections opened at the same moment, forty times over', async () => {
    // Without a retry, about one attempt in ten has a connection told SQLITE_BUSY at once.
    for (let round = 0; round < 40; round++) {
      const file = createSqlite();
      const dbs = Array.from({ length: 6 }, () => openDatabase({ url: file.url, poolMax: 1 }));
      try {
        const modes = await Promise.all(dbs.map(async (db) => (await db.knex.raw('PRAGMA journal_mode')) as Array<{ journal_mode: string }>));
        expect(modes.map((m) => m[0]!.journal_mode)).to.deep.equal(Array(6).fill('wal'));
      } finally {
        for (const db of dbs) await db.close();
        await file.drop();
      }
    }
  });
});
