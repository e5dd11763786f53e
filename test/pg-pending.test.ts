import { expect } from 'chai';
import { migrate, openDatabase, type Database } from '../src/storage/db.js';
import { repositoriesFor, unitOfWork } from '../src/storage/knex-repositories.js';
import { createPg, describeOnPostgres, type TestDatabase } from './helpers/db.js';
import { repositoryScript } from './helpers/repository-script.js';

/**
 * The PostgreSQL ingest transaction queues its new bounces, audit lines, suppressions and
 * contact updates and writes them in a few statements at the end. The same calls made one
 * statement at a time must leave the same rows.
 */

const TABLES = ['campaigns', 'contacts', 'messages', 'bounces', 'suppressions', 'contact_events', 'sends'];

async function dump(db: Database): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = await db.knex(t).orderBy(t === 'campaigns' ? 'id' : t === 'suppressions' ? 'contact_id' : t === 'sends' ? 'campaign_id' : 'id');
  return out;
}

describeOnPostgres('storage: queued writes of the ingest path', () => {
  const made: TestDatabase[] = [];
  const opened: Database[] = [];
  const open = async () => {
    const pg = await createPg();
    made.push(pg);
    const db = openDatabase({ url: pg.url });
    opened.push(db);
    await migrate(db);
    return db;
  };
  after(async () => {
    for (const db of opened) await db.close();
    for (const pg of made) await pg.drop();
  });

  it('leave the same rows as one statement per call', async () => {
    const oneByOne = await open();
    const queued = await open();
    const a = await oneByOne.knex.transaction((trx) => repositoryScript(repositoriesFor(trx, 'pg'), { nul: false }));
    const b = await unitOfWork(queued).transaction((repos) => repositoryScript(repos, { nul: false }));
    expect(b).to.deep.equal(a);
    const rows = await dump(oneByOne);
    expect(await dump(queued)).to.deep.equal(rows);
    expect(rows['bounces']).to.have.length(2);
    expect(rows['contact_events']).to.have.length(1);
  });

  it('write nothing of a transaction that fails, queued rows included', async () => {
    const db = await open();
    const err = await unitOfWork(db)
      .transaction(async (repos) => {
        await repositoryScript(repos, { nul: false });
        throw new Error('boom');
      })
      .catch((e: Error) => e);
    expect((err as Error).message).to.equal('boom');
    for (const t of TABLES) expect(await db.knex(t).count({ n: '*' }).first(), t).to.satisfy((r: { n: unknown }) => Number(r.n) === 0);
  });
});
