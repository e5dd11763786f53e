import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { encodeReturnPath } from '../src/domain/verp.js';
import { parseCopyBytes } from '../src/dsn/mime.js';
import { silentLogger } from '../src/logger.js';
import { testConfig, TEST_DOMAIN } from './helpers/config.js';
import { countSqliteMessages, createSqlite, type TestDatabase } from './helpers/db.js';
import { makeDsn } from './helpers/dsn.js';
import { captureLogger } from './helpers/logs.js';
import { Dialog } from './helpers/smtp.js';

/**
 * Every abuse limit of the listener, over real sockets: each test starts a receiver with the
 * limit set low and shows that a client past it is refused with the documented reply, while
 * a client within it is served.
 */
describe('SMTP abuse limits', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let running: RunningServer | null = null;
  const open: Dialog[] = [];

  beforeEach(() => {
    db = createSqlite();
  });
  afterEach(async () => {
    for (const d of open.splice(0)) d.close();
    await running?.stop();
    running = null;
    await db.drop();
  });

  async function start(smtp: Record<string, unknown>, logger = silentLogger): Promise<number> {
    running = await startServer(await createApp(testConfig(db.url, { smtp: { shutdownTimeoutMs: 1000, ...smtp } }), { logger }));
    return running.address.port;
  }
  async function connect(port: number, localAddress?: string): Promise<{ dialog: Dialog; greeting: string }> {
    const r = await Dialog.open(port, { localAddress });
    open.push(r.dialog);
    return r;
  }
  /** Connects until the greeting is 220 (the server notices a closed connection asynchronously). */
  async function connectWhenAdmitted(port: number, localAddress?: string): Promise<Dialog> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const { dialog, greeting } = await connect(port, localAddress);
      if (greeting.startsWith('220')) return dialog;
      dialog.close();
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('never admitted');
  }
  const rp = (campaign: string, email: string) => encodeReturnPath(running!.app.verp, campaign, email);
  const countMessages = (): Promise<number> => countSqliteMessages(db.url);

  it('refuses a client past the maximum number of clients with 421, and admits one again when a slot frees', async () => {
    const port = await start({ maxClients: 2, maxConnectionsPerIp: 100 });
    const a = await connect(port);
    const b = await connect(port, '127.0.0.2');
    expect(a.greeting).to.match(/^220 /);
    expect(b.greeting).to.match(/^220 /);
    const c = await connect(port, '127.0.0.3');
    expect(c.greeting).to.match(/^421 .*Too many connected clients/);
    await c.dialog.whenClosed();
    a.dialog.close();
    const d = await connectWhenAdmitted(port, '127.0.0.3');
    expect(await d.command('EHLO client.example')).to.match(/^250/);
  });

  /** Connects and writes EHLO at once, before any greeting; returns all the server wrote. */
  function talkFirst(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('EHLO early.example\r\n'));
      let heard = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        heard += d;
        if (/^250 /m.test(heard) && !socket.writableEnded) socket.end('QUIT\r\n');
      });
      socket.on('close', () => resolve(heard));
      socket.on('error', reject);
      socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer; heard ${JSON.stringify(heard)}`)));
    });
  }

  it('with a greeting delay, refuses a client that talks before the greeting; without one, greets at once', async () => {
    const delayed = await start({ greetingDelayMs: 500 });
    expect(await talkFirst(delayed)).to.match(/^421 .*talk too soon/i);
    await running!.stop();
    running = await startServer(await createApp(testConfig(db.url, { smtp: { shutdownTimeoutMs: 1000 } }), { logger: silentLogger }));
    const heard = await talkFirst(running.address.port);
    expect(heard).to.match(/^220 /);
    expect(heard).to.match(/^250 /m);
  });

  it('asks the kernel for a queue of smtp.listenBacklog connections waiting to be accepted', async function () {
    const port = await start({ listenBacklog: 77 });
    const ss = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
    if (ss.status !== 0) this.skip(); // iproute2's ss is not installed
    // For a listening socket, ss shows the backlog as Send-Q (the kernel caps it at somaxconn).
    const [, , sendQ] = ss.stdout.trim().split(/\s+/);
    expect(Number(sendQ)).to.equal(77);
  });

  it('refuses a fourth connection from one address with 421 4.7.0 while another address is still served', async () => {
    const port = await start({ maxConnectionsPerIp: 3 });
    for (let i = 0; i < 3; i++) expect((await connect(port)).greeting).to.match(/^220 /);
    const over = await connect(port);
    expect(over.greeting).to.equal('421 4.7.0 Too many connections from your address, try again later');
    await over.dialog.whenClosed();
    expect((await connect(port, '127.0.0.2')).greeting).to.match(/^220 /);
    open[0]!.close();
    await connectWhenAdmitted(port);
    expect(running!.smtp.sessions).to.be.at.most(5);
  });

  it('refuses connections past the limit of one /24 with 421 4.7.0, whichever of its addresses they come from', async () => {
    const port = await start({ maxConnectionsPerIp: 2, maxConnectionsPerNetwork: 5 });
    for (const host of ['127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.2', '127.0.0.3']) expect((await connect(port, host)).greeting).to.match(/^220 /);
    for (const host of ['127.0.0.3', '127.0.0.4', '127.0.0.200']) {
      const over = await connect(port, host);
      expect(over.greeting).to.equal('421 4.7.0 Too many connections from your network, try again later');
      await over.dialog.whenClosed();
    }
    // Another /24 has its own allowance; a closed connection frees a place in its network.
    expect((await connect(port, '127.0.1.1')).greeting).to.match(/^220 /);
    open[0]!.close();
    await connectWhenAdmitted(port, '127.0.0.9');
  });

  it('counts connections per network of the configured prefix length', async () => {
    const port = await start({ maxConnectionsPerIp: 5, maxConnectionsPerNetwork: 2, networkPrefixV4: 16 });
    expect((await connect(port, '127.0.0.1')).greeting).to.match(/^220 /);
    expect((await connect(port, '127.0.1.1')).greeting).to.match(/^220 /);
    expect((await connect(port, '127.0.2.1')).greeting).to.equal('421 4.7.0 Too many connections from your network, try again later');
    expect((await connect(port, '127.1.0.1')).greeting).to.match(/^220 /);
  });

  it('does not let NOOP, RSET, HELP, VRFY or a repeated EHLO keep a session past the idle timeout; moving mail does', async () => {
    const port = await start({ socketTimeoutMs: 1500, maxCommandsBeforeMail: 1000, maxBadCommands: 1000 });
    const { dialog } = await connect(port);
    const started = Date.now();
    const chatter = ['NOOP', 'RSET', 'HELP', 'VRFY postmaster', 'EHLO client.example', 'MAIL FROM:<>', 'RSET'];
    let last = await dialog.command('EHLO client.example');
    for (let i = 0; i < 60 && !last.startsWith('421'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      last = await dialog.command(chatter[i % chatter.length]!);
    }
    expect(last).to.equal('421 4.4.2 Timeout: no mail moved, closing connection');
    expect(Date.now() - started).to.be.within(1400, 6000);
    await dialog.whenClosed();

    // A session that delivers a message every 300 ms stays open well past the timeout.
    const to = rp('c1', 'idle@example.org');
    const busy = (await connect(port)).dialog;
    await busy.command('EHLO client.example');
    const from = Date.now();
    for (let i = 0; i < 6; i++) {
      expect(await busy.command('MAIL FROM:<>')).to.match(/^250/);
      expect(await busy.command(`RCPT TO:<${to}>`)).to.match(/^250/);
      expect(await busy.data(makeDsn({ to, recipients: [{ recipient: `idle${i}@example.org` }] }))).to.match(/^250 /);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(Date.now() - from).to.be.at.least(1800);
    expect(await busy.command('NOOP')).to.match(/^250/);
  });

  it('near full, closes the longest idle session with 421 4.7.0 so that a new sender is greeted', async () => {
    const port = await start({ maxClients: 10, socketTimeoutMs: 5000, maxConnectionsPerIp: 1 });
    const idle: Dialog[] = [];
    for (let i = 1; i <= 9; i++) {
      const { dialog, greeting } = await connect(port, `127.0.0.${i}`);
      expect(greeting).to.match(/^220 /);
      await dialog.command('EHLO idle.example');
      idle.push(dialog);
      if (i === 1) await new Promise((r) => setTimeout(r, 200)); // the first is the oldest
    }
    await new Promise((r) => setTimeout(r, 600)); // idle for more than a tenth of the timeout
    const tenth = await connect(port, '127.0.0.10');
    expect(tenth.greeting).to.match(/^220 /);
    expect(await idle[0]!.reply()).to.equal('421 4.7.0 Too many connections, closing this idle one, try again later');
    await idle[0]!.whenClosed();
    const eleventh = await connect(port, '127.0.0.11');
    expect(eleventh.greeting).to.match(/^220 /);
    expect(await idle[1]!.reply()).to.match(/^421 4\.7\.0 Too many connections, closing this idle one/);
    // A connection refused by its address's limit makes no room.
    const refused = await connect(port, '127.0.0.11');
    expect(refused.greeting).to.equal('421 4.7.0 Too many connections from your address, try again later');
    // The newcomers are served, and the oldest idle session left was not closed for the refused one.
    expect(await eleventh.dialog.command('EHLO new.example')).to.match(/^250/);
    expect(await idle[2]!.command('NOOP')).to.match(/^250/);
    for (const d of idle) open.push(d);
  });

  it('closes a session that sends too many commands without starting a mail transaction', async () => {
    const port = await start({ maxCommandsBeforeMail: 5 });
    const { dialog } = await connect(port);
    expect(await dialog.command('EHLO client.example')).to.match(/^250/);
    for (let i = 0; i < 3; i++) expect(await dialog.command('NOOP')).to.match(/^250/);
    // MAIL is the fifth command: accepted, and it starts the count again.
    expect(await dialog.command('MAIL FROM:<>')).to.match(/^250/);
    expect(await dialog.command('RSET')).to.match(/^250/); // inside the transaction: not counted
    for (let i = 0; i < 5; i++) expect(await dialog.command('NOOP')).to.match(/^250/);
    expect(await dialog.command('NOOP')).to.equal('421 4.7.0 Too many commands without a mail transaction, closing connection');
    await dialog.whenClosed();
  });

  it('closes a session at its third unknown or out-of-sequence command', async () => {
    const port = await start({ maxBadCommands: 3 });
    const { dialog } = await connect(port);
    expect(await dialog.command('XYZZY')).to.match(/^500 /);
    expect(await dialog.command('MAIL FROM:<>')).to.match(/^503 /); // before EHLO
    expect(await dialog.command('EHLO client.example')).to.match(/^250/);
    expect(await dialog.command('RCPT TO:<x@example.org>')).to.equal('421 4.7.0 Too many bad commands, closing connection');
    await dialog.whenClosed();
  });

  it('closes a session whose command line is longer than the limit, and serves lines within it', async () => {
    const port = await start({ maxLineLength: 600 });
    const { dialog } = await connect(port);
    expect(await dialog.command(`EHLO ${'a'.repeat(250)}`)).to.match(/^250/);
    expect(await dialog.command(`NOOP ${'x'.repeat(500)}`)).to.match(/^250/);
    expect(await dialog.command(`NOOP ${'x'.repeat(700)}`)).to.match(/^421 .*line too long/i);
    await dialog.whenClosed();
    // A line that never ends is cut as well, without waiting for its end.
    const second = await connect(port);
    second.dialog.write(`NOOP ${'y'.repeat(5000)}`);
    expect(await second.dialog.reply()).to.match(/^421 .*line too long/i);
  });

  it('refuses a message whose header section is over the limit with 552 5.3.4 and stores nothing of it', async () => {
    const port = await start({ maxHeaderBytes: 4096 });
    const to = rp('c1', 'big@example.org');
    const dsn = makeDsn({ to, recipients: [{ recipient: 'big@example.org' }] });
    const { dialog } = await connect(port);
    await dialog.command('EHLO client.example');
    const send = async (raw: string) => {
      await dialog.command('MAIL FROM:<>');
      await dialog.command(`RCPT TO:<${to}>`);
      return dialog.data(raw);
    };
    const fat = `X-Padding: ${'p'.repeat(6000)}\r\n${dsn}`;
    expect(await send(fat)).to.equal('552 5.3.4 Message header too big for system (limit 4096 bytes)');
    const folded = `X-Padding: start\r\n${' more'.repeat(1000).match(/.{1,70}/g)!.map((l) => ` ${l}`).join('\r\n')}\r\n${dsn}`;
    expect(await send(folded)).to.match(/^552 5\.3\.4 Message header too big/);
    // A large body under a small header is fine.
    expect(await send(`${dsn}\r\n${'body line\r\n'.repeat(2000)}`)).to.match(/^250 /);
    expect(await countMessages()).to.equal(1);
  });

  it('counts the copies the parse makes in the budget: a message whose raw bytes fit but whose parse would not gets 452 4.3.1', async () => {
    // A message of n bytes is counted as n while it arrives, then n + parseCopyBytes(n) = 8n (under 1 MiB) while it is parsed and stored.
    expect(parseCopyBytes(100_000)).to.equal(700_000);
    const port = await start({ maxBufferedBytes: 1_000_000, maxMessageBytes: 1024 * 1024 });
    const to = rp('c1', 'copies@example.org');
    const dsn = (pad: number) => `${makeDsn({ to, recipients: [{ recipient: 'copies@example.org' }] })}\r\n${'x'.repeat(pad)}\r\n`;
    const { dialog } = await connect(port);
    await dialog.command('EHLO client.example');
    await dialog.command('MAIL FROM:<>');
    await dialog.command(`RCPT TO:<${to}>`);
    expect(await dialog.data(dsn(200_000))).to.equal('452 4.3.1 Insufficient system storage, please try again later');
    await dialog.command('MAIL FROM:<>');
    await dialog.command(`RCPT TO:<${to}>`);
    expect(await dialog.data(dsn(100_000))).to.match(/^250 /);
    expect(running!.smtp.bufferedBytes, 'nothing is left held').to.equal(0);
  });

  it('defers a message with 452 4.3.1 while the messages in memory would pass their budget, and takes it once there is room', async () => {
    const port = await start({ maxBufferedBytes: 1_000_000, maxMessageBytes: 1024 * 1024 });
    const to = rp('c1', 'room@example.org');
    const dsn = (pad: number) => `${makeDsn({ to, recipients: [{ recipient: 'room@example.org' }] })}\r\n${'x'.repeat(pad)}\r\n`;
    const session = async () => {
      const { dialog } = await connect(port);
      await dialog.command('EHLO client.example');
      await dialog.command('MAIL FROM:<>');
      await dialog.command(`RCPT TO:<${to}>`);
      return dialog;
    };
    // One message alone over the budget.
    const alone = await session();
    expect(await alone.data(dsn(150_000))).to.equal('452 4.3.1 Insufficient system storage, please try again later');
    // A message in progress holds 100 kB; a second one of 120 kB (960 kB with its parse) has no room until it is done.
    const first = await session();
    expect(await first.command('DATA')).to.match(/^354/);
    const firstRaw = dsn(100_000).replace(/\r?\n/g, '\r\n');
    first.write(firstRaw);
    for (let i = 0; i < 100 && running!.smtp.bufferedBytes < 100_000; i++) await new Promise((r) => setTimeout(r, 20));
    expect(running!.smtp.bufferedBytes).to.be.at.least(100_000);
    const second = await session();
    const raw = dsn(120_000);
    expect(await second.data(raw)).to.equal('452 4.3.1 Insufficient system storage, please try again later');
    first.write('.\r\n');
    expect(await first.reply()).to.match(/^250 /);
    await second.command('MAIL FROM:<>');
    await second.command(`RCPT TO:<${to}>`);
    expect(await second.data(raw)).to.match(/^250 /);
    expect(running!.smtp.bufferedBytes, 'nothing is left held').to.equal(0);
  });

  it('disconnects an idle client with 421 once the idle timeout passes', async () => {
    const port = await start({ socketTimeoutMs: 1000 });
    const { dialog } = await connect(port);
    expect(await dialog.command('EHLO client.example')).to.match(/^250/);
    expect(await dialog.reply(15_000)).to.match(/^421 .*Timeout/i);
    await dialog.whenClosed();
  });

  it('cuts a client that keeps a session busy past the total session time, even while it keeps talking', async () => {
    const port = await start({ maxSessionMs: 1500, socketTimeoutMs: 60_000 });
    const { dialog } = await connect(port);
    const started = Date.now();
    let last = await dialog.command('EHLO client.example');
    for (let i = 0; i < 200 && last.startsWith('250'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      last = await dialog.command('NOOP');
    }
    expect(last).to.equal('421 4.4.2 Session time limit reached, closing connection');
    expect(Date.now() - started).to.be.at.least(1400);
    await dialog.whenClosed();
  });

  it('cuts a client that trickles a message slowly past the total session time, and stores nothing of it', async () => {
    const port = await start({ maxSessionMs: 1500, socketTimeoutMs: 60_000, maxCommandsBeforeMail: 100 });
    const to = rp('c1', 'slow@example.org');
    const { dialog } = await connect(port);
    await dialog.command('EHLO client.example');
    await dialog.command('MAIL FROM:<>');
    await dialog.command(`RCPT TO:<${to}>`);
    expect(await dialog.command('DATA')).to.match(/^354/);
    const raw = makeDsn({ to, recipients: [{ recipient: 'slow@example.org' }] });
    for (let i = 0; i < 200 && !dialog.isClosed; i++) {
      dialog.write(raw.slice(i * 20, i * 20 + 20));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await dialog.reply()).to.equal('421 4.4.2 Session time limit reached, closing connection');
    await dialog.whenClosed();
    expect(await countMessages()).to.equal(0);
  });

  it('stops taking recipients from an address after too many refusals, then takes them again once the window passes', async () => {
    const port = await start({ maxRefusedRcptPerIp: 3, refusedRcptWindowMs: 4000 });
    const good = rp('c1', 'rate@example.org');
    const { dialog } = await connect(port);
    await dialog.command('EHLO client.example');
    await dialog.command('MAIL FROM:<>');
    for (let i = 0; i < 3; i++) expect(await dialog.command(`RCPT TO:<guess${i}@${TEST_DOMAIN}>`)).to.match(/^550 5\.1\.1 /);
    // Even a valid recipient is now refused, and the session ends.
    expect(await dialog.command(`RCPT TO:<${good}>`)).to.equal('421 4.7.0 Too many refused recipients from your address, try again later');
    await dialog.whenClosed();
    // New sessions from that address are refused at once; another address is served.
    expect((await connect(port)).greeting).to.equal('421 4.7.0 Too many refused recipients from your address, try again later');
    const other = await connect(port, '127.0.0.2');
    expect(other.greeting).to.match(/^220 /);
    await other.dialog.command('EHLO other.example');
    await other.dialog.command('MAIL FROM:<>');
    expect(await other.dialog.command(`RCPT TO:<${good}>`)).to.match(/^250/);
    // Once the refusals are older than the window, the address is served again.
    const again = await connectWhenAdmitted(port);
    await again.command('EHLO client.example');
    await again.command('MAIL FROM:<>');
    expect(await again.command(`RCPT TO:<${good}>`)).to.match(/^250/);
  });

  it('logs at most 20 refused recipients a minute from one address, and says it holds the rest back', async () => {
    const capture = captureLogger();
    const port = await start({ maxRefusedRcptPerIp: 1000, maxRecipients: 100 }, capture.logger);
    const { dialog } = await connect(port);
    await dialog.command('EHLO client.example');
    await dialog.command('MAIL FROM:<>');
    for (let i = 0; i < 30; i++) expect(await dialog.command(`RCPT TO:<guess${i}@${TEST_DOMAIN}>`)).to.match(/^550 5\.1\.1 /);
    const lines = capture.entries.filter((e) => e.code === 'RCPT_REFUSED');
    expect(lines).to.have.length(20);
    expect(lines.map((l) => l['throttled'] === true)).to.deep.equal([...Array(19).fill(false), true]);
    // Another address has its own allowance.
    const other = await connect(port, '127.0.0.2');
    await other.dialog.command('EHLO other.example');
    await other.dialog.command('MAIL FROM:<>');
    expect(await other.dialog.command(`RCPT TO:<guess@${TEST_DOMAIN}>`)).to.match(/^550 /);
    expect(capture.entries.filter((e) => e.code === 'RCPT_REFUSED')).to.have.length(21);
  });
});
