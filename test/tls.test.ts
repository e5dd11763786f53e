import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { silentLogger } from '../src/logger.js';
import { testConfig } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { Dialog } from './helpers/smtp.js';
import { fingerprintOf, makeCertificate, type TestCertificate } from './helpers/tls.js';

const HOST = 'mx.test.example';

describe('STARTTLS and AUTH', function () {
  this.timeout(60_000);
  let dir: string;
  let cert: TestCertificate;
  let db: TestDatabase;
  let running: RunningServer | null = null;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rebond-tls-'));
    cert = makeCertificate(dir, HOST);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    db = createSqlite();
  });
  afterEach(async () => {
    await running?.stop();
    running = null;
    await db.drop();
  });

  async function start(tls: boolean): Promise<number> {
    const config = testConfig(db.url, { smtp: { hostname: HOST, shutdownTimeoutMs: 1000, ...(tls ? { tls: { key: cert.key, cert: cert.cert } } : {}) } });
    running = await startServer(await createApp(config, { logger: silentLogger }));
    return running.address.port;
  }

  it('offers STARTTLS with the configured certificate, never AUTH, and takes a bounce over TLS', async () => {
    const port = await start(true);
    const { dialog } = await Dialog.open(port);
    try {
      const ehlo = await dialog.command('EHLO client.example');
      expect(ehlo).to.match(/^250-.*\r?\n(250[- ].*\r?\n)*/);
      expect(ehlo).to.match(/STARTTLS/);
      expect(ehlo).not.to.match(/AUTH/);
      // The handshake verifies the chain and the name: the configured certificate is served.
      const { socket } = await dialog.starttls({ ca: cert.pem, servername: HOST });
      expect(socket.authorized).to.equal(true);
      expect(fingerprintOf(socket.getPeerCertificate().raw)).to.equal(cert.fingerprint);
      const after = await dialog.command('EHLO client.example');
      expect(after).not.to.match(/STARTTLS/);
      expect(after).not.to.match(/AUTH/);
      expect(await dialog.command('AUTH PLAIN AGF1c2VyAHBhc3M=')).to.match(/^5\d\d /);
      const to = encodeReturnPath(running!.app.verp, 'tls', 'tls@example.org');
      expect(await dialog.command('MAIL FROM:<>')).to.match(/^250/);
      expect(await dialog.command(`RCPT TO:<${to}>`)).to.match(/^250/);
      expect(await dialog.data(makeDsn({ to, recipients: [{ recipient: 'tls@example.org' }] }))).to.match(/^250 2\.0\.0 Ok: stored as \d+/);
    } finally {
      dialog.close();
    }
    const contact = await running!.app.db.knex('contacts').where({ email: 'tls@example.org' }).first();
    expect(contact.state).to.equal('bounced');
  });

  it('answers the final dot and QUIT of a client that half-closes over TLS, then closes', async () => {
    const port = await start(true);
    const { dialog } = await Dialog.open(port);
    try {
      await dialog.command('EHLO client.example');
      const { socket } = await dialog.starttls({ ca: cert.pem, servername: HOST });
      await dialog.command('EHLO client.example');
      const to = encodeReturnPath(running!.app.verp, 'tls', 'half@example.org');
      dialog.write(`MAIL FROM:<>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
      expect([await dialog.reply(), await dialog.reply(), await dialog.reply()].map((r) => r.slice(0, 3))).to.deep.equal(['250', '250', '354']);
      const body = makeDsn({ to, recipients: [{ recipient: 'half@example.org' }], eol: '\r\n' });
      socket.end(`${body}\r\n.\r\nQUIT\r\n`);
      expect(await dialog.reply()).to.match(/^250 2\.0\.0 Ok: stored as \d+/);
      expect(await dialog.reply()).to.match(/^221 /);
      await dialog.whenClosed();
    } finally {
      dialog.close();
    }
    expect((await running!.app.db.knex('contacts').where({ email: 'half@example.org' }).first()).state).to.equal('bounced');
  });

  it('forgets what the client said before STARTTLS', async () => {
    const port = await start(true);
    const { dialog } = await Dialog.open(port);
    try {
      await dialog.command('EHLO client.example');
      await dialog.command('MAIL FROM:<>');
      // A command pipelined behind STARTTLS in plain text must not run inside the TLS session.
      dialog.write('STARTTLS\r\nRCPT TO:<postmaster@bounces.test.example>\r\n');
      const reply = await dialog.reply();
      expect(reply).to.match(/^220 /);
      const socket = await dialog.upgrade({ ca: cert.pem, servername: HOST });
      expect(socket.authorized).to.equal(true);
      // The transaction started in plain text is gone: RCPT needs a new EHLO and MAIL.
      expect(await dialog.command('RCPT TO:<postmaster@bounces.test.example>')).to.match(/^503 /);
    } finally {
      dialog.close();
    }
  });

  it('offers neither STARTTLS nor AUTH without a certificate', async () => {
    const port = await start(false);
    const { dialog } = await Dialog.open(port);
    try {
      const ehlo = await dialog.command('EHLO client.example');
      expect(ehlo).not.to.match(/STARTTLS|AUTH/);
      expect(await dialog.command('STARTTLS')).to.match(/^5\d\d /);
      expect(await dialog.command('AUTH LOGIN')).to.match(/^5\d\d /);
      expect(await dialog.command('NOOP')).to.match(/^250/);
    } finally {
      dialog.close();
    }
  });
});
