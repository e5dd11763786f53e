import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { encodeReturnPath } from '../src/domain/verp.js';
import { TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { startReceiver, type Receiver } from './helpers/process.js';
import { sendMail, sendMany } from './helpers/smtp.js';

/**
 * kill -9 under load: a receiver in a child process takes DSNs from concurrent clients and is
 * killed at once when the Nth 250 arrives. After a restart, every acknowledged message is
 * stored exactly once with its effects; a message that got no 250 left no partial state; the
 * remote's retry of everything ends with each message stored once.
 */
describeEachDatabase('durability under kill -9', (slot) => {
  const env = () => ({ REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN });
  const settings = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };

  function messages(round: number, n: number): Array<{ to: string; raw: string; email: string }> {
    return Array.from({ length: n }, (_, i) => {
      const email = `r${round}-u${i % 7}@example.org`;
      const to = encodeReturnPath(settings, `r${round}-c${i}`, email);
      return { to, email, raw: makeDsn({ to, recipients: [{ recipient: email, status: i % 3 === 0 ? '5.1.1' : '4.2.2' }] }) };
    });
  }

  for (const [round, killAt] of [[1, 3], [2, 17], [3, 40]] as const) {
    it(`keeps every acknowledged bounce when killed at acknowledgement ${killAt}`, async () => {
      const batch = messages(round, 60);
      const acked = new Set<number>();
      let receiver: Receiver = await startReceiver(env());
      let killed = false;
      let next = 0;
      const client = async () => {
        while (!killed && next < batch.length) {
          const i = next++;
          const m = batch[i]!;
          try {
            const res = await sendMail(receiver.port, { from: '', to: [m.to] }, m.raw);
            if (res.response.startsWith('250')) acked.add(i);
            if (acked.size >= killAt && !killed) {
              killed = true;
              receiver.child.kill('SIGKILL');
            }
          } catch {
            // connection dropped by the kill: not acknowledged
          }
        }
      };
      await Promise.all([client(), client(), client(), client()]);
      await receiver.exited();
      expect(acked.size).to.be.at.least(killAt);

      const db: Knex = knexFactory(slot.dialect === 'pg' ? { client: 'pg', connection: slot.url } : { client: 'sqlite3', connection: { filename: slot.url.replace(/^sqlite:/, '') }, useNullAsDefault: true });
      try {
        const stored = await db('messages').where('rcpt_to', 'like', `%r${round}-c%`).select('id', 'rcpt_to');
        const storedTo = new Set(stored.map((r) => (JSON.parse(r.rcpt_to) as string[])[0]));
        for (const i of acked) expect(storedTo.has(batch[i]!.to), `acknowledged message ${i} is stored`).to.equal(true);
        for (const r of stored) {
          const bounces = await db('bounces').where({ message_id: r.id });
          expect(bounces, `message ${r.id} has its bounce`).to.have.length(1);
        }
        const bounced = await db('contacts').where('email', 'like', `r${round}-%`).andWhere({ state: 'bounced' });
        for (const c of bounced) expect(await db('suppressions').where({ contact_id: c.id })).to.have.length.greaterThan(0);

        receiver = await startReceiver(env());
        try {
          const replies = await sendMany(receiver.port, batch.map((m) => ({ from: '', to: [m.to], raw: m.raw })));
          for (const r of replies) expect(r).to.match(/^250 /);
        } finally {
          receiver.child.kill('SIGTERM');
          expect(await receiver.exited()).to.equal(0);
        }
        const after = await db('messages').where('rcpt_to', 'like', `%r${round}-c%`).count({ n: '*' }).first();
        expect(Number(after!.n)).to.equal(batch.length);
        const dupes = await db('messages').where('rcpt_to', 'like', `%r${round}-c%`).sum({ d: 'duplicates' }).first();
        expect(Number(dupes!.d)).to.equal(stored.length);
      } finally {
        await db.destroy();
      }
    });
  }
});
