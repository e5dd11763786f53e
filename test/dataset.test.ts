import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { createApp, startServer, type App } from '../src/app.js';
import { DECODERS } from '../src/dsn/decoders/index.js';
import { silentLogger } from '../src/logger.js';
import { applyPrepared, prepare, type IngestInput } from '../src/services/ingest.js';
import { testArf } from './helpers/arf.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase } from './helpers/db.js';
import { generateDataset, type Dataset, type Expected, type GeneratedMessage } from './helpers/dataset.js';
import { runCli } from './helpers/process.js';
import { sendMany } from './helpers/smtp.js';

/**
 * The operator's and the send pipeline's view of a realistic data set: loaded through every
 * way in (the library for sends, ingest, SMTP, `rebond import` of an mbox and a Maildir, an
 * older parser later replayed), re-imported and replayed again; then every report is read
 * (through the services and the command line, as CSV and JSON) and checked against the counts
 * computed from the generated input, and against plain SQL.
 */
describeEachDatabase('a realistic data set', (slot) => {
  let app: App;
  let data: Dataset;
  let dir: string;
  const env = () => ({ REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN });
  const cli = (args: string[]) => {
    const r = runCli(args, env());
    expect(r.status, `rebond ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const byChannel = (channel: GeneratedMessage['channel']) => data.messages.filter((m) => m.channel === channel);
  const deliveries = (list: readonly GeneratedMessage[]) => list.reduce((n, m) => n + (m.redelivered ? 2 : 1), 0);
  const count = async (sql: string, bindings: unknown[] = []) => {
    const r = await app.db.knex.raw(sql, bindings as never[]);
    const rows = (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Array<Record<string, unknown>>;
    return Number(Object.values(rows[0]!)[0]);
  };

  before(async function () {
    this.timeout(600_000);
    app = await createApp(testConfig(slot.url), { logger: silentLogger, parse: { decoders: [testArf, ...DECODERS] } });
    data = generateDataset(app.verp);
    dir = mkdtempSync(join(tmpdir(), 'rebond-dataset-'));

    // The send pipeline: automations, campaigns, sends.
    for (const a of data.automations) {
      await app.pipeline.registerAutomation({ id: a.id, name: a.name });
      for (const c of a.campaigns) await app.pipeline.registerCampaign({ id: c, automationId: a.id });
    }
    for (const c of data.direct) await app.pipeline.registerCampaign({ id: c, name: c.toUpperCase() });
    for (let i = 0; i < data.sends.length; i += 1000) await app.pipeline.recordSends(data.sends.slice(i, i + 1000));

    // Bounces through the ingest (as the listener does), and some stored by an older parser.
    const inputOf = (m: GeneratedMessage): IngestInput => ({ raw: Buffer.from(m.raw), mailFrom: '', rcptTo: [m.to], transport: 'smtp', receivedAt: m.date });
    const inFlight = new Set<Promise<unknown>>();
    for (const m of data.messages) {
      for (let copy = 0; copy < (m.redelivered ? 2 : 1); copy++) {
        let job: Promise<unknown>;
        if (m.channel === 'ingest') job = app.ingestor.ingest(inputOf(m));
        else if (m.channel === 'old-parser') {
          const p = await prepare(inputOf(m), app.verp, { decoders: [] });
          job = app.uow.transaction((repos) => applyPrepared(repos, p, app.config.rules.softThreshold));
          await job;
        } else continue;
        const tracked: Promise<unknown> = job.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= 16) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);

    // Some over real SMTP, several messages per session.
    const receiver = await startServer(await createApp(testConfig(slot.url), { logger: silentLogger }));
    try {
      const items = byChannel('smtp').flatMap((m) => Array.from({ length: m.redelivered ? 2 : 1 }, () => ({ from: '', to: [m.to], raw: m.raw })));
      for (let i = 0; i < items.length; i += 20) {
        const replies = await sendMany(receiver.address.port, items.slice(i, i + 20));
        expect(replies.every((r) => r.startsWith('250'))).to.equal(true);
      }
    } finally {
      await receiver.stop();
    }

    // The rest from an mbox and a Maildir, with the command line.
    const mbox = byChannel('mbox')
      .flatMap((m) => (m.redelivered ? [m, m] : [m]))
      .map((m) => `From MAILER-DAEMON ${m.date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1 $3 $2 $5 $4')}\n${m.raw.replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1')}\n`)
      .join('\n');
    writeFileSync(join(dir, 'bounces.mbox'), mbox);
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(dir, 'Maildir', sub), { recursive: true });
    byChannel('maildir').forEach((m, i) => {
      writeFileSync(join(dir, 'Maildir', 'cur', `${1_790_000_000 + i}.${m.id}.mx:2,S`), m.raw);
      if (m.redelivered) writeFileSync(join(dir, 'Maildir', 'new', `${1_790_000_000 + i}.${m.id}b.mx`), m.raw);
    });
    const imported = JSON.parse(cli(['import', join(dir, 'bounces.mbox'), join(dir, 'Maildir'), '--json'])) as Record<string, number>;
    const importedMessages = [...byChannel('mbox'), ...byChannel('maildir')];
    expect(imported).to.deep.include({ messages: deliveries(importedMessages), stored: importedMessages.length, duplicates: deliveries(importedMessages) - importedMessages.length, failed: 0 });

    // The parser got better: replay re-reads what the older one could not.
    const replay = await app.replayer.replay();
    expect(replay).to.deep.include({ changed: byChannel('old-parser').length, failed: 0, skippedPruned: 0, skippedTruncated: 0 });
    expect(replay.newlyCounted).to.be.greaterThan(0);

    // Everything again: a second import and a second replay change nothing.
    writeFileSync(join(dir, 'smtp-copy.eml'), byChannel('smtp')[0]?.raw ?? data.messages[0]!.raw);
    const again = JSON.parse(cli(['import', dir, '--json'])) as Record<string, number>;
    expect(again).to.deep.include({ stored: 0, duplicates: deliveries(importedMessages) + 1 });
    const replayAgain = await app.replayer.replay();
    expect(replayAgain).to.deep.include({ changed: 0, newlyCounted: 0, examined: data.messages.length });
  });
  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores every message once, however many times it arrived', async () => {
    expect(await count('SELECT COUNT(*) FROM messages')).to.equal(data.messages.length);
    const redeliveries = data.messages.filter((m) => m.redelivered).length;
    const reimported = deliveries([...byChannel('mbox'), ...byChannel('maildir')]) + 1;
    expect(await count('SELECT SUM(duplicates) FROM messages')).to.equal(redeliveries + reimported);
    expect(await count("SELECT COUNT(*) FROM bounces WHERE kind = 'bounce'")).to.equal(data.messages.filter((m) => m.outcome.kind === 'bounce').length);
  });

  it("gives every campaign's summary the counts of the generated input", async () => {
    const summaries = await app.reports.campaigns({}, { limit: 1000 });
    expect(summaries.total).to.equal(data.campaigns.length);
    for (const s of summaries.items) {
      const e = data.expected.get(s.id)!;
      expect(pick(s), s.id).to.deep.equal(e);
      expect(s.bounceRate, s.id).to.equal(Math.round((e.bounced / e.sentTo) * 10_000) / 100);
      expect(s.bounced, s.id).to.equal(await count("SELECT COUNT(DISTINCT contact_id) FROM bounces WHERE campaign_id = ? AND kind = 'bounce'", [s.id]));
    }
    const csv = parse(cli(['report', 'campaigns', '--format', 'csv']), { columns: true }) as Array<Record<string, string>>;
    expect(csv).to.have.length(data.campaigns.length);
    for (const row of csv) {
      const e = data.expected.get(row['id']!)!;
      expect([row['sent_to'], row['bounced'], row['hard'], row['soft'], row['delayed'], row['complained']].map(Number), row['id']).to.deep.equal([e.sentTo, e.bounced, e.hard, e.soft, e.delayed, e.complained]);
      expect(Number(row['bounce_rate'])).to.equal(Math.round((e.bounced / e.sentTo) * 10_000) / 100);
    }
  });

  it('lists the bounced contacts of a campaign with the code and type of their bounce, as CSV and JSON', () => {
    for (const campaignId of ['welcome-1', 'news-1', 'promo-black-friday']) {
      const expected = data.bouncedList.get(campaignId)!;
      const rows = parse(cli(['report', 'campaign', campaignId, '--format', 'csv']), { columns: true }) as Array<Record<string, string>>;
      expect(new Map(rows.map((r) => [r['email']!, [r['code']!, r['type']!]])), campaignId).to.deep.equal(expected);
      expect(rows.every((r) => r['campaign_id'] === campaignId && /^\d{4}-\d\d-\d\dT/.test(r['date']!) && r['description']!.length > 0)).to.equal(true);
      const report = JSON.parse(cli(['report', 'campaign', campaignId, '--format', 'json', '--sort', 'code', '--desc'])) as { campaign: Expected; bounces: { items: Array<{ code: string }>; total: number } };
      expect(report.bounces.total).to.equal(expected.size);
      expect(pick(report.campaign)).to.deep.equal(data.expected.get(campaignId));
      const codes = report.bounces.items.map((b) => b.code);
      expect(codes).to.deep.equal([...codes].sort().reverse());
    }
    const table = cli(['report', 'campaign', 'news-2']);
    expect(table).to.contain('Campaign news-2 (NEWS-2): direct campaign');
    expect(table).to.match(/│ bounce rate\s+│\s+[\d.]+ % │/);
  });

  it('reports each automation with its campaigns and their sum', () => {
    const list = JSON.parse(cli(['report', 'automations', '--format', 'json'])) as { items: Array<Expected & { id: string; campaigns: number; bounceRate: number }> };
    expect(list.items.map((a) => a.id)).to.deep.equal(['onboarding', 'welcome', 'winback']);
    for (const a of list.items) {
      const campaigns = data.automations.find((x) => x.id === a.id)!.campaigns;
      const sum = (k: keyof Expected) => campaigns.reduce((n, c) => n + data.expected.get(c)![k], 0);
      expect([a.campaigns, a.sentTo, a.bounced, a.hard, a.soft, a.delayed, a.complained], a.id).to.deep.equal([campaigns.length, sum('sentTo'), sum('bounced'), sum('hard'), sum('soft'), sum('delayed'), sum('complained')]);
      expect(a.bounceRate).to.equal(Math.round((sum('bounced') / sum('sentTo')) * 10_000) / 100);
    }
    const rows = parse(cli(['report', 'automation', 'welcome', '--format', 'csv']), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r['id'])).to.deep.equal(['welcome-1', 'welcome-2', 'welcome-3', 'welcome-4']);
    for (const r of rows) expect(Number(r['bounced'])).to.equal(data.expected.get(r['id']!)!.bounced);
  });

  it('counts per recipient domain, and shows the domain that blocks us first by rate', async () => {
    const rows = parse(cli(['report', 'domains', '--format', 'csv']), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r['domain']).sort()).to.deep.equal([...data.domains.keys()].sort());
    for (const r of rows) {
      const e = data.domains.get(r['domain']!)!;
      expect([r['sent_to'], r['bounced'], r['hard'], r['soft'], r['delayed'], r['complained']].map(Number), r['domain']).to.deep.equal([e.sentTo, e.bounced, e.hard, e.soft, e.delayed, e.complained]);
    }
    const byRate = await app.reports.domains({ sort: 'rate', minSent: 50 });
    expect(byRate.items[0]).to.deep.include({ domain: 'blocker.example', topCode: '5.7.1' });
    const totalSent = rows.reduce((n, r) => n + Number(r['sent_to']), 0);
    expect(totalSent).to.equal([...data.expected.values()].reduce((n, e) => n + e.sentTo, 0));
  });

  it('keeps the suppression list the rules imply, exported whole', async () => {
    const exported = parse(cli(['suppression', 'export']), { columns: true }) as Array<Record<string, string>>;
    expect(exported).to.have.length(await count('SELECT COUNT(*) FROM suppressions'));
    const suppressed = new Set(exported.map((r) => `${r['email']} ${r['reason']}`));
    const hard = new Set(data.messages.filter((m) => m.email && m.outcome.kind === 'bounce' && m.outcome.type === 'hard').map((m) => m.email!));
    for (const email of hard) expect(suppressed.has(`${email} hard_bounce`) || suppressed.has(`${email} soft_bounces`), email).to.equal(true);
    for (const m of data.messages.filter((x) => x.outcome.kind === 'complaint')) expect(suppressed.has(`${m.email} complaint`), m.email!).to.equal(true);
    expect(await count("SELECT COUNT(*) FROM contacts WHERE state = 'bounced'")).to.equal(await count("SELECT COUNT(DISTINCT contact_id) FROM suppressions WHERE reason IN ('hard_bounce', 'soft_bounces')"));
  });

  it('holds to the rules when an operator unbounces and the send pipeline registers contacts again', async () => {
    const complained = new Set(data.messages.filter((m) => m.outcome.kind === 'complaint').map((m) => m.email));
    const email = data.messages.find((m) => m.email && m.outcome.kind === 'bounce' && m.outcome.type === 'hard' && !complained.has(m.email))!.email!;
    const refused = runCli(['contact', 'unbounce', email, '--operator', 'jane'], env());
    expect(refused.status).to.not.equal(0);
    expect(runCli(['suppression', 'check', '-q', email], env()).status).to.equal(1);
    expect((await app.pipeline.registerContacts([email]))[0]).to.deep.include({ state: 'bounced', suppressed: true });
    await app.pipeline.recordSends([{ campaignId: 'news-4', email }]);
    expect(runCli(['suppression', 'check', '-q', email], env()).status).to.equal(1);
    cli(['contact', 'unbounce', email, '--reason', 'customer confirmed the address', '--operator', 'jane']);
    expect(runCli(['suppression', 'check', '-q', email], env()).status).to.equal(0);
    const shown = JSON.parse(cli(['contact', 'show', email, '--format', 'json'])) as { contact: { state: string }; events: { items: Array<{ event: string; actor: string }> } };
    expect(shown.contact.state).to.equal('active');
    expect(shown.events.items.at(-1)).to.deep.include({ event: 'unbounced', actor: 'jane' });
    expect(runCli(['contact', 'unbounce', email, '--reason', 'again', '--operator', 'jane'], env()).status).to.equal(1);
  });
});

function pick(s: Expected): Expected {
  return {
    sentTo: s.sentTo,
    recordedSends: s.recordedSends,
    bounced: s.bounced,
    hard: s.hard,
    soft: s.soft,
    delayed: s.delayed,
    complained: s.complained,
    delivered: s.delivered,
    bounceRecords: s.bounceRecords,
    unknownContactRecords: s.unknownContactRecords,
  };
}
