import { expect } from 'chai';
import { runLoad, takeReply } from '../bench/lib/generator.js';
import { idleConnections } from '../bench/lib/idle.js';
import { buildMix, loadTemplates } from '../bench/lib/mix.js';
import { campaignIds, contactEmails, VERP } from '../bench/lib/options.js';
import { outcome } from '../bench/lib/outcome.js';
import { freePort, sinkAvailable, startSink, startStage } from '../bench/lib/servers.js';
import { STAGES } from '../bench/lib/stages.js';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';

/**
 * The load generator of `npm run bench` (bench/lib/): what it counts must be what happened.
 * No timing is checked here; speed is measured by the benchmarks themselves.
 */
describe('bench load generator', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let running: RunningServer;
  let port: number;
  before(async () => {
    db = createSqlite();
    running = await startServer(await createApp(testConfig(db.url, { smtp: { maxConnectionsPerIp: 50, maxConnectionsPerNetwork: 50, shutdownTimeoutMs: 1000 } }), { logger: silentLogger }));
    port = running.address.port;
  });
  after(async () => {
    await running?.stop();
    await db?.drop();
  });

  it('reads single-line and multi-line replies, and waits for a reply to be complete', () => {
    expect(takeReply('250 ok\r\nrest')).to.deep.equal({ reply: '250 ok', rest: 'rest' });
    expect(takeReply('250-first\r\n250-second\r\n250 last\r\n')).to.deep.equal({ reply: '250-first\r\n250-second\r\n250 last', rest: '' });
    expect(takeReply('250-first\r\n250 la')).to.equal(null);
    expect(takeReply('221\r\n')).to.deep.equal({ reply: '221', rest: '' });
  });

  it('sends rewritten samples, each stored once and attributed to its contact', async () => {
    const contacts = contactEmails(12, 'gen');
    const campaigns = campaignIds(3, 'gen');
    const mix = await buildMix({ kind: 'samples', count: 40, contacts, campaigns, verp: VERP, tag: 'gen-test' });
    expect(new Set(mix.messages.map((m) => m.data.toString('latin1'))).size).to.equal(40);
    const r = await runLoad(mix.messages, { port, concurrency: 6 });
    expect(r.codes).to.deep.equal({ '250': 40 });
    expect(r.messages).to.equal(40);
    expect(r.latencies.length).to.equal(40);
    expect([...r.latencies].every((v, i, a) => v >= 0 && (i === 0 || a[i - 1]! <= v))).to.equal(true);
    const o = await outcome(db.url);
    expect(o.messages).to.equal(40);
    expect(o.attributed).to.equal(40);
    expect(o.duplicates).to.equal(0);
    // Message i is made from sample i mod (samples used): the kinds stored are theirs.
    const kinds: Record<string, number> = {};
    for (let i = 0; i < 40; i++) kinds[mix.used[i % mix.used.length]!.kind] = (kinds[mix.used[i % mix.used.length]!.kind] ?? 0) + 1;
    expect(o.byKind).to.deep.equal(kinds);
  });

  it('hands each final reply to onReply with its index, and stops taking messages when told', async () => {
    const mix = await buildMix({ kind: 'dsn', count: 30, contacts: contactEmails(10, 'stop'), campaigns: ['stop-1'], verp: VERP, tag: 'gen-stop' });
    const replies = new Map<number, string>();
    const r = await runLoad(mix.messages, { port, concurrency: 2, stop: () => replies.size >= 5, onReply: (i, reply) => replies.set(i, reply) });
    // Two sessions: at most one more message was under way when the fifth reply came.
    expect(r.messages).to.be.within(5, 6);
    expect(r.codes['250']).to.equal(r.messages);
    expect([...replies.keys()].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: r.messages }, (_, i) => i));
    const ids = [...replies.values()].map((v) => Number(/stored as (\d+)$/.exec(v)?.[1]));
    expect(new Set(ids).size).to.equal(r.messages);
  });

  it('leaves out the samples it cannot rewrite, and says why', async () => {
    const { templates, skipped } = await loadTemplates(VERP, { email: 'probe@example.org', campaign: 'probe' });
    expect(templates.length).to.be.greaterThan(60);
    expect(skipped.find((s) => s.name === 'rfc3464-base64-delivery-status')?.reason).to.match(/not in the raw text/);
    expect(skipped.find((s) => s.name === 'autoreply-out-of-office')?.reason).to.match(/^autoreply/);
    expect(templates.some((t) => t.name === 'autoreply-out-of-office')).to.equal(false);
  });

  it('counts every outcome: 250, a refused recipient, a refused connection', async () => {
    const contacts = contactEmails(5, 'out');
    const mix = await buildMix({ kind: 'dsn', count: 8, contacts, campaigns: ['out-1'], verp: VERP, tag: 'gen-outcomes' });
    const forged = encodeReturnPath({ ...VERP, secret: 'another-secret-0123456789abcdef0123456789' }, 'out-1', contacts[0]!);
    const messages = mix.messages.map((m, i) => (i % 3 === 2 ? { ...m, rcpt: [Buffer.from(`RCPT TO:<${forged}>\r\n`)] } : m));
    const r = await runLoad(messages, { port, concurrency: 3 });
    expect(r.codes).to.deep.equal({ '250': 6, 'RCPT 550': 2 });
    expect(r.latencies.length).to.equal(6);
    expect(r.samples.every((s) => s.startsWith('550 5.1.1'))).to.equal(true);

    const closed = await runLoad(mix.messages.slice(0, 3), { port: await freePort(), concurrency: 2 });
    expect(closed.codes).to.deep.equal({ 'error ECONNREFUSED': 3 });
    expect(closed.latencies.length).to.equal(0);
  });

  it('holds idle sessions open after EHLO', async () => {
    const r = await idleConnections(process.pid, port, 7, 100);
    expect(r.open).to.equal(7);
    expect(r.memory?.rss ?? 1).to.be.greaterThan(0);
  });

  it('drives smtp-sink the same way (when Postfix is installed)', async function () {
    if (!sinkAvailable()) this.skip();
    const sink = await startSink();
    try {
      const mix = await buildMix({ kind: 'dsn', count: 20, contacts: contactEmails(4, 'sink'), campaigns: ['sink-1'], verp: VERP, tag: 'gen-sink' });
      const r = await runLoad(mix.messages, { port: sink.port, concurrency: 4 });
      expect(r.codes).to.deep.equal({ '250': 20 });
    } finally {
      await sink.stop(2000);
    }
  });

  it('drives the stage receivers of bench:floor, each doing its stage on every message', async () => {
    const mix = await buildMix({ kind: 'samples', count: 12, contacts: contactEmails(4, 'stage'), campaigns: ['stage-1'], verp: VERP, tag: 'gen-stage' });
    // What the receiver gets of message i: its DATA without the final `.` line and the dot-stuffing.
    const received = (i: number) => Buffer.from(mix.messages[i]!.data.toString('latin1').slice(0, -3).replace(/\r\n\.\./g, '\r\n.'), 'latin1').length;
    for (const stage of STAGES) {
      const server = await startStage(stage);
      try {
        const replies: string[] = [];
        const r = await runLoad(mix.messages, { port: server.port, concurrency: 3, onReply: (i, reply) => (replies[i] = reply) });
        expect(r.codes, stage).to.deep.equal({ '250': 12 });
        for (let i = 0; i < 12; i++) {
          const said = { smtp: `${received(i)} bytes`, mime: '(multipart|text|message)/[a-z-]+', parse: mix.used[i % mix.used.length]!.kind }[stage];
          expect(replies[i], `${stage} ${i}`).to.match(new RegExp(`^250 OK ${said}$`));
        }
      } finally {
        await server.stop(2000);
      }
    }
  });
});
