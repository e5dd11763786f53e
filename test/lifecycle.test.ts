import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeReturnPath } from '../src/domain/verp.js';
import { sqlitePath } from '../src/storage/db.js';
import { TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { startReceiver, type Receiver } from './helpers/process.js';
import { Dialog } from './helpers/smtp.js';
import { fingerprintOf, makeCertificate } from './helpers/tls.js';

const NEW_SECRET = 'rotated-secret-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b';
const settings = (secret: string) => ({ prefix: 'bounce', domains: [TEST_DOMAIN], secret });

/** `rebond serve` in a child process: SIGTERM stops it gracefully, SIGHUP reloads its configuration. */
describe('receiver lifecycle (child process)', function () {
  this.timeout(90_000);
  let db: TestDatabase;
  let receiver: Receiver | null = null;
  let dir: string;

  beforeEach(() => {
    db = createSqlite();
    dir = mkdtempSync(join(tmpdir(), 'rebond-life-'));
  });
  afterEach(async () => {
    if (receiver && receiver.child.exitCode === null && receiver.child.signalCode === null) {
      receiver.child.kill('SIGKILL');
      await receiver.exited();
    }
    receiver = null;
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({ REBOND_DATABASE_URL: db.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, ...extra });

  async function storedCount(): Promise<number> {
    const k: Knex = knexFactory({ client: 'sqlite3', connection: { filename: sqlitePath(db.url) }, useNullAsDefault: true });
    try {
      return Number((await k('messages').count({ n: '*' }).first())!.n);
    } finally {
      await k.destroy();
    }
  }

  async function openTransaction(port: number, email: string): Promise<{ dialog: Dialog; raw: string }> {
    const to = encodeReturnPath(settings(TEST_SECRET), 'shutdown', email);
    const { dialog } = await Dialog.open(port);
    await dialog.command('EHLO mta.example');
    expect(await dialog.command('MAIL FROM:<>')).to.match(/^250/);
    expect(await dialog.command(`RCPT TO:<${to}>`)).to.match(/^250/);
    expect(await dialog.command('DATA')).to.match(/^354/);
    return { dialog, raw: makeDsn({ to, recipients: [{ recipient: email, status: '5.1.1' }] }).replace(/\r?\n/g, '\r\n') };
  }

  it('on SIGTERM stops accepting, closes idle sessions, lets a message in flight finish with 250, and exits 0', async () => {
    receiver = await startReceiver(env({ REBOND_SMTP_SHUTDOWN_TIMEOUT_MS: '30000' }));
    const port = receiver.port;
    const idle = (await Dialog.open(port)).dialog;
    expect(await idle.command('EHLO idle.example')).to.match(/^250/);
    const busy = await openTransaction(port, 'inflight@example.org');
    const half = Math.floor(busy.raw.length / 2);
    busy.dialog.write(busy.raw.slice(0, half));

    const started = Date.now();
    receiver.child.kill('SIGTERM');
    await receiver.waitForLog('STOPPING');
    // The idle session is told at once.
    expect(await idle.reply()).to.equal('421 4.3.2 Service shutting down, try again later');
    await idle.whenClosed();
    // No new connection is accepted.
    const refused = await Dialog.open(port).then(
      (r) => {
        r.dialog.close();
        return r.greeting;
      },
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(refused).to.equal('ECONNREFUSED');
    // The message in flight is finished and stored.
    busy.dialog.write(`${busy.raw.slice(half)}${busy.raw.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    expect(await busy.dialog.reply()).to.match(/^250 2\.0\.0 Ok: stored as \d+$/);
    // Then the session ends.
    const next = await busy.dialog.command('NOOP').catch(() => '');
    expect(next === '' || next.startsWith('421')).to.equal(true);
    await busy.dialog.whenClosed();
    expect(await receiver.exited()).to.equal(0);
    expect(Date.now() - started).to.be.below(20_000);
    expect(receiver.count('STOPPED')).to.equal(1);
    expect(await storedCount()).to.equal(1);
  });

  it('on SIGTERM waits for a stalled transaction only until the shutdown timeout, then closes it and exits 0', async () => {
    receiver = await startReceiver(env({ REBOND_SMTP_SHUTDOWN_TIMEOUT_MS: '1500' }));
    const stalled = await openTransaction(receiver.port, 'stalled@example.org');
    stalled.dialog.write(stalled.raw.slice(0, 100));
    const started = Date.now();
    receiver.child.kill('SIGTERM');
    expect(await stalled.dialog.reply(20_000)).to.match(/^421 /);
    await stalled.dialog.whenClosed(20_000);
    expect(await receiver.exited()).to.equal(0);
    const took = Date.now() - started;
    expect(took).to.be.at.least(1400);
    expect(took).to.be.below(20_000);
    expect(await storedCount()).to.equal(0);
  });

  it('acts on a SIGTERM that arrives while it is still starting once it has started, and exits 0', async () => {
    // The receiver listens (and says so) before it has registered itself in the database; a
    // signal in between used to kill it with the default action, cutting off any session.
    receiver = await startReceiver(env({}));
    receiver.child.kill('SIGTERM');
    expect(await receiver.exited()).to.equal(0);
    expect(receiver.count('STOPPING')).to.equal(1);
    expect(receiver.count('STOPPED')).to.equal(1);
  });

  it('on SIGHUP applies new limits, a rotated VERP secret and a new certificate, names what needs a restart, and keeps serving', async () => {
    const certA = makeCertificate(dir, 'mx.test.example', 'a');
    const certB = makeCertificate(dir, 'mx.test.example', 'b');
    const file = join(dir, 'rebond.json');
    const write = (content: unknown) => writeFileSync(file, JSON.stringify(content));
    const base = { smtp: { hostname: 'mx.test.example', tls: { key: certA.key, cert: certA.cert } }, verp: { secret: TEST_SECRET }, log: { level: 'info' } };
    write({ ...base, smtp: { ...base.smtp, maxRecipients: 1 } });
    receiver = await startReceiver({ REBOND_DATABASE_URL: db.url, REBOND_VERP_DOMAINS: TEST_DOMAIN }, ['--config', file]);
    const port = receiver.port;

    const oldToken = (c: string) => encodeReturnPath(settings(TEST_SECRET), c, 'hup@example.org');
    const newToken = (c: string) => encodeReturnPath(settings(NEW_SECRET), c, 'hup@example.org');
    const certificateServed = async () => {
      const { dialog } = await Dialog.open(port);
      try {
        await dialog.command('EHLO mta.example');
        const { socket } = await dialog.starttls({ rejectUnauthorized: false, servername: 'mx.test.example' });
        return fingerprintOf(socket.getPeerCertificate().raw);
      } finally {
        dialog.close();
      }
    };
    const rcpts = async (list: string[]) => {
      const { dialog } = await Dialog.open(port);
      try {
        await dialog.command('EHLO mta.example');
        await dialog.command('MAIL FROM:<>');
        const out = [];
        for (const r of list) out.push(await dialog.command(`RCPT TO:<${r}>`));
        return out;
      } finally {
        dialog.close();
      }
    };

    expect(await rcpts([oldToken('a'), oldToken('b'), newToken('c')])).to.deep.equal([
      '250 Accepted',
      '452 4.5.3 Too many recipients for one message',
      '452 4.5.3 Too many recipients for one message',
    ]);
    expect(await certificateServed()).to.equal(certA.fingerprint);

    write({
      ...base,
      smtp: { ...base.smtp, maxRecipients: 3, tls: { key: certB.key, cert: certB.cert } },
      verp: { secret: NEW_SECRET, previousSecrets: [TEST_SECRET] },
      database: { poolMax: 3 },
      log: { level: 'warn' },
    });
    receiver.child.kill('SIGHUP');
    const reloaded = await receiver.waitForLog('CONFIG_RELOADED');
    expect(reloaded['applied']).to.include.members(['smtp.maxRecipients', 'smtp.tls.cert', 'smtp.tls.key', 'verp.secret', 'verp.previousSecrets', 'log.level']);
    expect(JSON.stringify(receiver.logs)).not.to.include(NEW_SECRET);
    expect((await receiver.waitForLog('CONFIG_RESTART_NEEDED'))['settings']).to.deep.equal(['database.poolMax']);

    const replies = await rcpts([newToken('c'), oldToken('d'), encodeReturnPath(settings(`${NEW_SECRET}x`), 'e', 'hup@example.org')]);
    expect(replies.slice(0, 2)).to.deep.equal(['250 Accepted', '250 Accepted']);
    expect(replies[2]).to.match(/^550 5\.1\.1 /);
    expect(await certificateServed()).to.equal(certB.fingerprint);

    // A bad file is refused as a whole; the running configuration stays.
    write({ ...base, smtp: { ...base.smtp, maxRecipients: 0 } });
    receiver.child.kill('SIGHUP');
    expect(String((await receiver.waitForLog('CONFIG_RELOAD_FAILED'))['error'])).to.match(/smtp\.maxRecipients/);
    // At level warn the refusal above (an info line, written before this one) was not logged.
    expect(receiver.count('RCPT_REFUSED')).to.equal(0);
    expect((await rcpts([newToken('f'), newToken('g')])).every((r) => r.startsWith('250'))).to.equal(true);

    receiver.child.kill('SIGTERM');
    expect(await receiver.exited()).to.equal(0);
  });
});
