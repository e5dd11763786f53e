import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { encodeReturnPath } from '../src/domain/verp.js';
import { sqlitePath } from '../src/storage/db.js';
import { TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase, type DatabaseSlot } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { startReceiver, type Receiver } from './helpers/process.js';
import { Dialog } from './helpers/smtp.js';

/**
 * kill -9 under load: a receiver in a child process takes DSNs from several concurrent SMTP
 * sessions and is killed with SIGKILL at a random moment (after a random number of 250s,
 * right after a random commit, or at a random time, in the middle of whatever it was doing).
 * After a restart: every message that got a 250 is stored exactly once with its effects, no
 * message left partial state, and the remote's redelivery of everything ends with each
 * message stored once. The seed is printed in the test title; REBOND_TEST_SEED replays a run.
 */

const SEED = Number(process.env['REBOND_TEST_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const MESSAGES = 80;
const CLIENTS = 5;
const verp = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };

/** mulberry32: a small seeded generator, so that a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Message {
  readonly to: string;
  readonly email: string;
  readonly campaign: string;
  readonly raw: string;
  readonly hard: boolean;
}

type KillPoint = { kind: 'ack'; n: number } | { kind: 'commit'; n: number } | { kind: 'time'; ms: number };

function killPoints(rand: () => number): KillPoint[] {
  return [
    { kind: 'ack', n: 1 + Math.floor(rand() * (MESSAGES - 20)) },
    { kind: 'commit', n: 1 + Math.floor(rand() * (MESSAGES - 20)) },
    { kind: 'time', ms: 150 + Math.floor(rand() * 750) }, // the greeting alone takes 100 ms
  ];
}

function describeKill(k: KillPoint): string {
  return k.kind === 'ack' ? `when the client has ${k.n} acknowledgements` : k.kind === 'commit' ? `right after commit ${k.n}` : `${k.ms} ms into the stream`;
}

function batch(round: string, rand: () => number): Message[] {
  return Array.from({ length: MESSAGES }, (_, i) => {
    // Several messages per contact, so that concurrent bounces for one contact are in play.
    const email = `${round}-u${i % 11}@example.org`;
    const campaign = `${round}-c${i}`;
    const to = encodeReturnPath(verp, campaign, email);
    const hard = rand() < 0.3;
    return { to, email, campaign, hard, raw: makeDsn({ to, recipients: [{ recipient: email, status: hard ? '5.1.1' : '4.2.2' }] }) };
  });
}

/** One remote MTA session delivering its queue; stops at the first broken reply. */
async function remote(port: number, queue: readonly number[], messages: readonly Message[], acked: Set<number>, onAck: () => void): Promise<void> {
  let dialog: Dialog;
  try {
    ({ dialog } = await Dialog.open(port));
  } catch {
    return;
  }
  try {
    if (!(await dialog.command('EHLO mta.remote.example')).startsWith('250')) return;
    for (const i of queue) {
      const m = messages[i]!;
      if (!(await dialog.command('MAIL FROM:<>')).startsWith('250')) return;
      if (!(await dialog.command(`RCPT TO:<${m.to}>`)).startsWith('250')) return;
      const reply = await dialog.data(m.raw);
      if (!reply.startsWith('250 ')) return;
      acked.add(i);
      onAck();
    }
    await dialog.command('QUIT');
  } catch {
    // the receiver died under us: whatever got no 250 is not acknowledged
  } finally {
    dialog.close();
  }
}

function open(slot: DatabaseSlot): Knex {
  return slot.dialect === 'pg'
    ? knexFactory({ client: 'pg', connection: slot.url, pool: { min: 0, max: 2 } })
    : knexFactory({ client: 'sqlite3', connection: { filename: sqlitePath(slot.url) }, useNullAsDefault: true });
}

/**
 * What is stored for this round is whole: each message has its one bounce, contact and
 * campaign; the contacts' states and suppressions follow from stored bounces only.
 */
async function expectConsistent(db: Knex, round: string, messages: readonly Message[]): Promise<Set<string>> {
  const byTo = new Map(messages.map((m) => [m.to, m]));
  const rows: Array<{ id: number; rcpt_to: string; duplicates: number }> = await db('messages').where('rcpt_to', 'like', `%${round}-c%`).select('id', 'rcpt_to', 'duplicates');
  const stored = new Set<string>();
  for (const r of rows) {
    const to = (JSON.parse(r.rcpt_to) as string[])[0]!;
    expect(stored.has(to), `${to} stored once`).to.equal(false);
    stored.add(to);
    const bounces = await db('bounces').where({ message_id: r.id });
    expect(bounces, `message ${r.id} has its one bounce`).to.have.length(1);
    const m = byTo.get(to)!;
    expect(bounces[0].campaign_id).to.equal(m.campaign);
    expect(bounces[0].type).to.equal(m.hard ? 'hard' : 'soft');
    expect(bounces[0].contact_id, `message ${r.id} names its contact`).to.not.equal(null);
  }
  const storedCampaigns = new Set([...stored].map((to) => byTo.get(to)!.campaign));
  const storedEmails = new Set([...stored].map((to) => byTo.get(to)!.email));
  // Nothing of a message that is not stored.
  const campaigns: Array<{ id: string }> = await db('campaigns').where('id', 'like', `${round}-c%`).select('id');
  expect(campaigns.map((c) => c.id).sort()).to.deep.equal([...storedCampaigns].sort());
  const contacts: Array<{ id: number; email: string; state: string; soft_campaigns: string }> = await db('contacts').where('email', 'like', `${round}-u%`);
  expect(contacts.map((c) => c.email).sort()).to.deep.equal([...storedEmails].sort());
  for (const c of contacts) {
    const mine = [...stored].map((to) => byTo.get(to)!).filter((m) => m.email === c.email);
    const suppressions = await db('suppressions').where({ contact_id: c.id });
    if (mine.some((m) => m.hard)) expect(c.state, `${c.email} has a stored hard bounce`).to.equal('bounced');
    if (c.state === 'bounced') expect(suppressions, `${c.email} is suppressed`).to.have.length.greaterThan(0);
    else expect(suppressions).to.have.length(0);
    for (const campaign of JSON.parse(c.soft_campaigns) as string[]) expect(storedCampaigns.has(campaign), `${campaign} in a row comes from a stored bounce`).to.equal(true);
    expect((await db('contact_events').where({ contact_id: c.id, event: 'bounced' })).length).to.be.at.most(1);
  }
  const orphanEvents = await db('contact_events').leftJoin('bounces', 'bounces.id', 'contact_events.bounce_id').whereNotNull('contact_events.bounce_id').whereNull('bounces.id').count({ n: '*' }).first();
  expect(Number(orphanEvents!.n)).to.equal(0);
  return stored;
}

describeEachDatabase('durability under kill -9', (slot) => {
  const env = () => ({ REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN });
  const rand = random(SEED + (slot.dialect === 'pg' ? 1 : 0));
  const kills = killPoints(rand);

  // One receiver per round: the one restarted after a kill takes the redelivery, then the next
  // round's load, and is killed in its turn.
  it(`keeps every acknowledged bounce exactly once, and nothing partial, when killed ${kills.map(describeKill).join(', then ')} (seed ${SEED})`, async () => {
    let receiver: Receiver = await startReceiver(env());
    const db = open(slot);
    try {
      for (const [index, kill] of kills.entries()) {
        const round = `k${slot.dialect}${index}`;
        const what = `round ${index + 1}, killed ${describeKill(kill)}`;
        const messages = batch(round, rand);
        const queues = Array.from({ length: CLIENTS }, (_, c) => messages.map((_, i) => i).filter((i) => i % CLIENTS === c));
        const acked = new Set<number>();
        let killed = false;
        const victim = receiver;
        const kill9 = () => {
          if (killed) return;
          killed = true;
          victim.child.kill('SIGKILL');
        };
        const onAck = () => {
          if (kill.kind === 'ack' && acked.size >= kill.n) kill9();
        };
        const timer = kill.kind === 'time' ? setTimeout(kill9, kill.ms) : null;
        const before = victim.count('SMTP_ACCEPTED');
        if (kill.kind === 'commit') void victim.waitForLog('SMTP_ACCEPTED', () => victim.count('SMTP_ACCEPTED') - before >= kill.n, 60_000).then(kill9, () => {});
        await Promise.all(queues.map((q) => remote(victim.port, q, messages, acked, onAck)));
        if (timer) clearTimeout(timer);
        kill9(); // in case the stream ended before the kill point
        await victim.exited();

        const stored = await expectConsistent(db, round, messages);
        for (const i of acked) expect(stored.has(messages[i]!.to), `${what}: acknowledged message ${i} is stored`).to.equal(true);

        // Restart; the remote delivers everything again (what it never got a 250 for, and what it did).
        receiver = await startReceiver(env());
        const again = new Set<number>();
        await Promise.all(queues.map((q) => remote(receiver.port, q, messages, again, () => {})));
        expect(again.size, `${what}: every message acknowledged after the restart`).to.equal(MESSAGES);
        const final = await expectConsistent(db, round, messages);
        expect(final.size).to.equal(MESSAGES);
        const dupes = await db('messages').where('rcpt_to', 'like', `%${round}-c%`).sum({ d: 'duplicates' }).first();
        expect(Number(dupes!.d), `${what}: each message stored before the restart was recognised as a redelivery`).to.equal(stored.size);
      }
    } finally {
      receiver.child.kill('SIGTERM');
      const code = await receiver.exited();
      await db.destroy();
      expect(code).to.equal(0);
    }
  });
});
