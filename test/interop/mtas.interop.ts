import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, startServer, type RunningServer } from '../../src/app.js';
import { encodeReturnPath } from '../../src/domain/verp.js';
import { testConfig } from '../helpers/config.js';
import { createSqlite, type TestDatabase } from '../helpers/db.js';
import { captureLogger, type LogEntry } from '../helpers/logs.js';
import { sendMany } from '../helpers/smtp.js';
import { makeCertificate } from '../helpers/tls.js';
import { eximDelivers, opensmtpdDelivers, postfixDelivers, type Delivery, type MtaOutcome } from './mtas.js';

/**
 * Real MTAs as clients (`npm run interop`): Debian's Postfix, Exim and OpenSMTPD, run as private
 * instances on loopback (see mtas.ts), deliver a handful of the project's samples to a receiver
 * started here, with and without PIPELINING (OpenSMTPD's client does not pipeline), with and
 * without STARTTLS. Each message must get its 250
 * at the first attempt (the MTA's own log shows no deferral) and be stored once.
 */

const SAMPLES = ['exim-user-unknown', 'postfix-user-unknown', 'sendmail-user-unknown', 'qmail-remote-host-said', 'opensmtpd-error'];
const HOST = 'mx.interop.example';

const root = execFileSync('bash', [join(import.meta.dirname, 'install-mtas.sh')], { encoding: 'utf8' }).trim();

describe('real MTAs deliver to the receiver', function () {
  this.timeout(120_000);
  let work: string;
  let db: TestDatabase;
  let running: RunningServer | null = null;
  let entries: LogEntry[] = [];
  let run = 0;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'rebond-interop-'));
    chmodSync(work, 0o755); // the MTAs' own users read their directories in it
  });
  after(() => rmSync(work, { recursive: true, force: true }));
  afterEach(async () => {
    await running?.stop();
    running = null;
    await db?.drop();
  });

  async function start(tls: boolean): Promise<number> {
    db = createSqlite();
    const captured = captureLogger();
    entries = captured.entries;
    const cert = tls ? makeCertificate(work, HOST, `r${run}`) : null;
    const config = testConfig(db.url, { smtp: { hostname: HOST, shutdownTimeoutMs: 1000, ...(cert ? { tls: { key: cert.key, cert: cert.cert } } : {}) } });
    running = await startServer(await createApp(config, { logger: captured.logger }));
    return running.address.port;
  }

  function deliveries(tag: string): Delivery[] {
    return SAMPLES.map((name, i) => ({
      from: '',
      to: encodeReturnPath(running!.app.verp, `interop-${tag}`, `person${i}@example.org`),
      raw: readFileSync(join(import.meta.dirname, '../../samples', `${name}.eml`)),
    }));
  }

  async function check(outcome: MtaOutcome, count: number, tls: boolean): Promise<void> {
    const context = `MTA log:\n${outcome.log}`;
    expect(outcome.problems, context).to.deep.equal([]);
    expect(outcome.delivered, context).to.have.length(count);
    for (const line of outcome.delivered) expect(line, context).to.match(/250 2\.0\.0 Ok: stored as \d+/);
    if (tls) expect(outcome.overTls, context).to.be.greaterThan(0);
    const stored = Number((await running!.app.db.knex('messages').count({ n: '*' }).first())!.n);
    expect(stored, 'messages stored').to.equal(count);
    expect(entries.filter((e) => e.code === 'SMTP_ACCEPTED'), 'stored on arrival').to.have.length(count);
    expect(entries.filter((e) => e.code === 'SMTP_DUPLICATE'), 'delivered again').to.deep.equal([]);
  }

  /** Hands the messages to an MTA's own SMTP listener on loopback. */
  const inject = async (smtpd: number, items: readonly Delivery[]) => {
    const replies = await sendMany(smtpd, items.map((d) => ({ from: d.from, to: [d.to], raw: d.raw })));
    expect(replies.every((r) => r.startsWith('250')), `the MTA took the messages: ${replies.join(' | ')}`).to.equal(true);
  };

  for (const tls of [false, true]) {
    it(`OpenSMTPD ${tls ? 'over STARTTLS' : 'without TLS'}`, async function () {
      if (!existsSync(join(root, 'usr/sbin/smtpd'))) this.skip(); // its package could not be fetched
      const port = await start(tls);
      const dir = mkdtempSync(join(work, `opensmtpd-${run++}-`));
      const list = deliveries(`opensmtpd${run}`);
      await check(await opensmtpdDelivers(root, dir, list, { port, pipelining: false, tls }, inject), list.length, tls);
    });

    for (const pipelining of [true, false]) {
      const mode = `${pipelining ? 'with' : 'without'} PIPELINING, ${tls ? 'over STARTTLS' : 'without TLS'}`;

      it(`Exim ${mode}`, async () => {
        const port = await start(tls);
        const dir = mkdtempSync(join(work, `exim-${run++}-`));
        const list = deliveries(`exim${run}`);
        await check(await eximDelivers(root, dir, list, { port, pipelining, tls }), list.length, tls);
      });

      it(`Postfix ${mode}`, async () => {
        const port = await start(tls);
        const dir = mkdtempSync(join(work, `postfix-${run++}-`));
        const list = deliveries(`postfix${run}`);
        await check(await postfixDelivers(root, dir, list, { port, pipelining, tls }, inject), list.length, tls);
      });
    }
  }
});
