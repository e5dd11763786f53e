import { expect } from 'chai';
import { fillTo, registerSends, settle } from '../bench/lib/fill.js';
import { campaignIds, contactEmails, VERP } from '../bench/lib/options.js';
import { migrate, openDatabase, type Database } from '../src/storage/db.js';
import { describeEachDatabase } from './helpers/db.js';
import { replayProblems, snapshot } from './helpers/workload.js';

/**
 * The bulk filler of `npm run bench:scale` writes straight into the tables: what it writes must
 * be what ingest would have written (each contact's state, suppressions and audit trail follow
 * from its records by the rules), and a receiver must be able to go on writing after it.
 */
describeEachDatabase('bench database filler', (slot) => {
  let db: Database;
  before(async () => {
    db = openDatabase({ url: slot.url, statementTimeoutMs: 0 });
    await migrate(db);
  });
  after(async () => {
    await db?.close();
  });

  it('fills in steps with rows the contact rules would have made, then lets new rows in', async () => {
    await fillTo(db, 0, 300, { verp: VERP, rawBytes: 64 });
    await fillTo(db, 300, 700, { verp: VERP, rawBytes: 64 });
    await registerSends(db, contactEmails(5, 'reg'), campaignIds(2, 'reg'));
    await settle(db);
    const snap = await snapshot(db.knex);
    expect(snap.contacts.size).to.equal(705);
    expect(snap.bounces).to.have.length(1400);
    expect([...snap.contacts.values()].flatMap((c) => replayProblems(c, 3))).to.deep.equal([]);
    const states = new Map<string, number>();
    for (const c of snap.contacts.values()) states.set(`${c.state} ${c.bouncedReason}`, (states.get(`${c.state} ${c.bouncedReason}`) ?? 0) + 1);
    expect(Object.fromEntries(states)).to.deep.equal({ 'bounced hard_bounce': 70, 'bounced soft_bounces': 35, 'active null': 600 });
    expect(Number((await db.knex('sends').count({ n: '*' }).first())!['n'])).to.equal(1400 + 10);
    // Ids were given explicitly: the next rows a receiver inserts must still get fresh ones.
    const at = new Date().toISOString();
    const [row] = await db.knex('contacts').insert({ email: 'after-fill@example.org', email_key: 'aaaaaaaaaaaaa', state: 'active', soft_campaigns: '[]', complained: false, created_at: at, updated_at: at }).returning('id');
    expect(Number((row as { id: number }).id ?? row)).to.equal(706);
  });
});
