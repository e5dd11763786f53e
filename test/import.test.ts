import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createApp, startServer, type App } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { isProblem, planSources, readSources, type SourceMessage } from '../src/import/sources.js';
import { silentLogger } from '../src/logger.js';
import { envelopeOf } from '../src/services/importer.js';
import { testConfig, TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase, resetDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { BIN, ROOT, runCli } from './helpers/process.js';
import { sendMail } from './helpers/smtp.js';

const settings = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET };

function dsnFor(campaign: string, email: string, status: string, extra = ''): string {
  const to = encodeReturnPath(settings, campaign, email);
  return makeDsn({ to, recipients: [{ recipient: email, status }], eol: '\n' }).replace('MIME-Version: 1.0', `${extra}MIME-Version: 1.0`);
}

/** An mbox of the given messages, `From ` lines of bodies quoted as mboxrd does. */
function mbox(messages: ReadonlyArray<{ raw: string; date: string }>): string {
  return messages.map((m) => `From MAILER-DAEMON ${m.date}\n${m.raw.replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1')}\n`).join('\n');
}

describe('import sources', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rebond-sources-'));
    writeFileSync(join(dir, 'a.eml'), dsnFor('c1', 'a@example.org', '5.1.1'));
    writeFileSync(join(dir, 'notes.txt'), 'just some notes\n');
    writeFileSync(join(dir, 'empty.eml'), '');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'b.eml'), dsnFor('c1', 'b@example.org', '5.1.1'));
    writeFileSync(join(dir, 'sub', '.hidden.eml'), dsnFor('c1', 'h@example.org', '5.1.1'));
    const body = dsnFor('c1', 'm2@example.org', '4.2.2').replace('Your message could not be delivered', 'From here on, your message could not be delivered');
    writeFileSync(
      join(dir, 'box.mbox'),
      mbox([
        { raw: dsnFor('c1', 'm1@example.org', '5.1.1'), date: 'Mon Nov 23 10:00:00 2026' },
        { raw: body, date: 'Tue Nov 24 11:30:00 2026' },
        { raw: dsnFor('c1', 'm3@example.org', '5.2.2'), date: 'not a date' },
      ]),
    );
    for (const sub of ['cur', 'new', 'tmp', '.Bounces/cur', '.Bounces/new']) mkdirSync(join(dir, 'maildir', sub), { recursive: true });
    writeFileSync(join(dir, 'maildir', 'cur', '1700000000.1.host:2,S'), dsnFor('c1', 'md1@example.org', '5.1.1'));
    writeFileSync(join(dir, 'maildir', 'new', '1700000001.2.host'), dsnFor('c1', 'md2@example.org', '5.1.1'));
    writeFileSync(join(dir, 'maildir', 'tmp', '1700000002.3.host'), dsnFor('c1', 'partial@example.org', '5.1.1'));
    writeFileSync(join(dir, 'maildir', '.Bounces', 'cur', '1700000003.4.host:2,'), dsnFor('c1', 'md3@example.org', '5.1.1'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds .eml files, mbox files and Maildir folders, in name order, skipping what is not a message', async () => {
    const plan = await planSources([dir, join(dir, 'missing.eml')]);
    expect(plan.files.map((f) => [f.path.slice(dir.length + 1), f.kind])).to.deep.equal([
      ['a.eml', 'eml'],
      ['box.mbox', 'mbox'],
      ['maildir/cur/1700000000.1.host:2,S', 'eml'],
      ['maildir/new/1700000001.2.host', 'eml'],
      ['maildir/.Bounces/cur/1700000003.4.host:2,', 'eml'],
      ['sub/b.eml', 'eml'],
    ]);
    expect(plan.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason])).to.deep.equal([
      ['empty.eml', 'empty file'],
      ['notes.txt', 'not a message or an mbox'],
      ['missing.eml', 'no such file or folder'],
    ]);
    expect(plan.totalBytes).to.equal(plan.files.reduce((n, f) => n + f.size, 0));
  });

  it('splits an mbox on its From_ lines, unquoting >From and keeping the dates', async () => {
    const plan = await planSources([join(dir, 'box.mbox')]);
    const items: SourceMessage[] = [];
    for await (const item of readSources(plan)) if (!isProblem(item)) items.push(item);
    expect(items.map((m) => m.source.replace(dir, ''))).to.deep.equal(['/box.mbox#1', '/box.mbox#2', '/box.mbox#3']);
    expect(items.map((m) => m.date?.toISOString() ?? null)).to.deep.equal(['2026-11-23T10:00:00.000Z', '2026-11-24T11:30:00.000Z', null]);
    expect(items[1]!.raw.toString()).to.contain('\nFrom here on, your message could not be delivered');
    expect(items[1]!.raw.toString()).to.not.contain('>From here');
    expect(items[0]!.raw.toString()).to.match(/^From: Mail Delivery System/);
    expect(items[2]!.bytesRead).to.equal(plan.totalBytes);
  });

  it('reads an .eml file as one message, whatever From lines it holds, without its leading From_ line', async () => {
    const body = dsnFor('c1', 'one@example.org', '5.1.1').replace('Your message could not be delivered', '\nFrom alice@example.org Mon Dec  7 18:00:00 2026\nSubject: quoted\n\nFrom the desk of Alice');
    writeFileSync(join(dir, 'saved.eml'), `From MAILER-DAEMON Tue Dec  8 01:00:00 2026\n${body}`);
    const plan = await planSources([join(dir, 'saved.eml')]);
    const items: SourceMessage[] = [];
    for await (const item of readSources(plan)) if (!isProblem(item)) items.push(item);
    expect(items.map((m) => m.source)).to.deep.equal([join(dir, 'saved.eml')]);
    expect(items[0]!.raw.toString()).to.match(/^Return-Path|^From: /).and.contain('From the desk of Alice');
  });

  it('splits a file that starts with a From_ line only on proper separators; one message is the file', async () => {
    const a = dsnFor('c1', 'p1@example.org', '5.1.1');
    const b = dsnFor('c1', 'p2@example.org', '5.1.1');
    // mboxo: body lines starting with "From " are not escaped; none of them is a separator.
    const quoted = a.replace('Your message could not be delivered', 'From the desk of Alice, 8 Dec 2026 10:00:00\n\nFrom bob Mon Dec  7 18:00:00 2026\nnot a header');
    writeFileSync(join(dir, 'one-saved'), `From MAILER-DAEMON Tue Dec  8 01:00:00 2026\n${quoted}`);
    writeFileSync(join(dir, 'two-saved'), `From MAILER-DAEMON Tue Dec  8 01:00:00 2026\n${quoted}\nFrom MAILER-DAEMON Tue Dec  8 02:00:00 2026\n${b}`);
    const plan = await planSources([join(dir, 'one-saved'), join(dir, 'two-saved')]);
    expect(plan.files.map((f) => f.kind)).to.deep.equal(['mbox', 'mbox']);
    const items: SourceMessage[] = [];
    for await (const item of readSources(plan)) if (!isProblem(item)) items.push(item);
    expect(items.map((m) => m.source.replace(dir, ''))).to.deep.equal(['/one-saved', '/two-saved#1', '/two-saved#2']);
    expect(items[0]!.raw.toString()).to.contain('From the desk of Alice').and.contain('\nFrom bob Mon Dec  7 18:00:00 2026\nnot a header');
    expect(items[2]!.raw.toString()).to.contain('p2@example.org').and.not.contain('p1@example.org');
  });

  it('rebuilds the envelope from the headers: signed return paths as recipients, Date: as the date', () => {
    const rp = encodeReturnPath(settings, 'c9', 'x@example.org');
    const raw = Buffer.from(`Return-Path: <>\nDelivered-To: ${rp}\nX-Original-To: someone@else.example\nTo: "Bounces" <${rp.toUpperCase()}>,\n postmaster@${TEST_DOMAIN}\nDate: Wed, 25 Nov 2026 12:00:00 +0000 (UTC)\nSubject: x\n\nbody\n`);
    const env = envelopeOf(raw, settings, 10);
    expect(env).to.deep.equal({ mailFrom: '', rcptTo: [rp, `postmaster@${TEST_DOMAIN}`], date: new Date('2026-11-25T12:00:00Z') });
  });
});

describeEachDatabase('import', (slot) => {
  let app: App;
  let dir: string;
  const env = () => ({ REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN });
  before(async () => {
    app = await createApp(testConfig(slot.url), { logger: silentLogger });
  });
  after(async () => {
    await app?.close();
  });
  beforeEach(async () => {
    await resetDatabase(app.db.knex);
    dir = mkdtempSync(join(tmpdir(), 'rebond-import-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('processes a file exactly as an SMTP arrival: same records, and the same message is stored once', async () => {
    const raw = dsnFor('spring', 'ann@example.org', '5.1.1');
    const receiver = await startServer(await createApp(testConfig(slot.url), { logger: silentLogger }));
    try {
      await sendMail(receiver.address.port, { from: '', to: [encodeReturnPath(settings, 'spring', 'ann@example.org')] }, raw);
    } finally {
      await receiver.stop();
    }
    writeFileSync(join(dir, 'same.eml'), raw);
    writeFileSync(join(dir, 'other.eml'), dsnFor('spring', 'bob@example.org', '4.2.2', `Delivered-To: ${encodeReturnPath(settings, 'spring', 'bob@example.org')}\n`));
    const summary = await app.importer.import([dir]);
    expect(summary).to.deep.include({ files: 2, messages: 2, stored: 1, duplicates: 1, failed: 0, records: 1, softBouncesCounted: 1, aborted: null });
    expect(summary.byKind).to.deep.equal({ bounce: 1 });
    const messages = await app.db.knex('messages').orderBy('id');
    expect(messages.map((m) => [m.transport, Number(m.duplicates)])).to.deep.equal([
      ['smtp', 1],
      ['import', 0],
    ]);
    expect(JSON.parse(messages[1].rcpt_to)).to.deep.equal([encodeReturnPath(settings, 'spring', 'bob@example.org')]);
    const records = await app.db.knex('bounces').orderBy('id');
    expect(records.map((b) => [b.campaign_id, b.recipient, b.status_code, b.type])).to.deep.equal([
      ['spring', 'ann@example.org', '5.1.1', 'hard'],
      ['spring', 'bob@example.org', '4.2.2', 'soft'],
    ]);
  });

  it('dates each imported bounce from its mbox From_ line or its Date: header', async () => {
    writeFileSync(join(dir, 'box.mbox'), mbox([{ raw: dsnFor('c1', 'cy@example.org', '5.1.1'), date: 'Sun Nov 22 07:15:00 2026' }]));
    writeFileSync(join(dir, 'one.eml'), makeDsn({ to: encodeReturnPath(settings, 'c1', 'dee@example.org'), recipients: [{ recipient: 'dee@example.org', status: '5.1.1' }], date: new Date('2026-11-21T06:00:00Z') }));
    await app.importer.import([dir]);
    const rows = await app.db.knex('bounces').orderBy('recipient').select('recipient', 'received_at');
    expect(rows.map((r) => [r.recipient, new Date(r.received_at).toISOString()])).to.deep.equal([
      ['cy@example.org', '2026-11-22T07:15:00.000Z'],
      ['dee@example.org', '2026-11-21T06:00:00.000Z'],
    ]);
    const suppression = await app.db.knex('suppressions').where({ email: 'cy@example.org' }).first();
    expect(new Date(suppression.created_at).getTime()).to.be.greaterThan(Date.now() - 60_000);
  });

  it('skips a message over smtp.maxMessageBytes, as SMTP would refuse it', async () => {
    const small = await createApp(testConfig(slot.url, { smtp: { maxMessageBytes: 2048 } }), { logger: silentLogger });
    try {
      writeFileSync(join(dir, 'big.eml'), dsnFor('c1', 'eve@example.org', '5.1.1').replace('Your message', `${'y'.repeat(3000)}\nYour message`));
      writeFileSync(join(dir, 'fine.eml'), dsnFor('c1', 'fay@example.org', '5.1.1').slice(0, 2000));
      const summary = await small.importer.import([dir]);
      expect(summary).to.deep.include({ messages: 2, stored: 1, tooBig: 1 });
      expect(summary.problems[0]!.error).to.match(/over smtp\.maxMessageBytes \(2048\)/);
    } finally {
      await small.close();
    }
  });

  it('imports from the command line with a summary; a second import finds everything already stored', () => {
    const messages = Array.from({ length: 12 }, (_, i) => ({ raw: dsnFor(`c${i % 3}`, `u${i}@example.org`, i % 2 ? '5.1.1' : '4.2.2'), date: `Fri Nov 20 0${i % 10}:00:00 2026` }));
    writeFileSync(join(dir, 'bounces.mbox'), mbox(messages));
    const first = runCli(['import', dir, '--json'], env());
    expect(first.status, first.stderr).to.equal(0);
    expect(JSON.parse(first.stdout)).to.deep.include({ files: 1, messages: 12, stored: 12, duplicates: 0, contactsBounced: 6, softBouncesCounted: 6 });
    const again = runCli(['import', dir], env());
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout).to.match(/│ stored \(new\)\s+│\s+0 │/);
    expect(again.stdout).to.match(/│ already stored\s+│\s+12 │/);
    expect(again.stderr).to.equal('');
    const missing = runCli(['import', join(dir, 'nope')], env());
    expect(missing.status).to.equal(0);
    expect(missing.stdout).to.contain('no such file or folder');
  });

  it('draws a progress bar when run on a terminal', function () {
    if (!existsSync('/usr/bin/script')) this.skip();
    writeFileSync(join(dir, 'one.eml'), dsnFor('c1', 'tty@example.org', '5.1.1'));
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} import ${JSON.stringify(dir)}`;
    const r = spawnSync('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env['PATH'], TERM: 'xterm', ...env() }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/import {2}\[█+\] 100% \| [\d.]+ (B|KiB)\/[\d.]+ (B|KiB) \| 1 messages, 1 new, 0 already stored/);
  });
});
