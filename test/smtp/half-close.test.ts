import { expect } from 'chai';
import net from 'node:net';
import { createApp, startServer, type RunningServer } from '../../src/app.js';
import { encodeReturnPath } from '../../src/domain/verp.js';
import { silentLogger } from '../../src/logger.js';
import { testConfig } from '../helpers/config.js';
import { countSqliteMessages, createSqlite, type TestDatabase } from '../helpers/db.js';
import { makeDsn } from '../helpers/dsn.js';

/**
 * Clients that close their sending side (SHUT_WR) right after the last command, as Exim does
 * with the final dot and QUIT in one packet: every command received before the close is
 * answered, then the server closes. Raw sockets on 127.0.0.1.
 */
describe('SMTP half-closed connections', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let running: RunningServer | null = null;

  beforeEach(() => {
    db = createSqlite();
  });
  afterEach(async () => {
    await running?.stop();
    running = null;
    await db.drop();
  });

  async function start(smtp: Record<string, unknown> = {}): Promise<number> {
    running = await startServer(await createApp(testConfig(db.url, { smtp: { shutdownTimeoutMs: 1000, ...smtp } }), { logger: silentLogger }));
    return running.address.port;
  }
  const rp = (campaign: string, email: string) => encodeReturnPath(running!.app.verp, campaign, email);
  const countMessages = (): Promise<number> => countSqliteMessages(db.url);

  /**
   * A raw client: reads the greeting, then runs `script` with a writer and a function that
   * waits for `n` more reply lines (final lines only). Resolves with every final reply line
   * and whether the server closed the connection (its FIN arrived) within the time limit.
   */
  async function session(port: number, script: (io: { write(s: string): void; end(s?: string): void; replies(n: number): Promise<string[]> }) => Promise<void>): Promise<{ replies: string[]; closedByServer: boolean }> {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.setEncoding('latin1');
    let buffer = '';
    const lines: string[] = [];
    let ended = false;
    let wake: (() => void) | null = null;
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (/^\d{3} /.test(line)) lines.push(line); // final line of a reply
      }
      wake?.();
    });
    socket.on('end', () => {
      ended = true;
      wake?.();
    });
    socket.on('error', () => {});
    let seen = 0;
    const waitFor = async (test: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!test() && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    };
    const replies = async (n: number) => {
      await waitFor(() => lines.length >= seen + n || ended, 10_000);
      const got = lines.slice(seen, seen + n);
      seen += got.length;
      return got;
    };
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      await replies(1); // greeting
      await script({ write: (s) => socket.write(s), end: (s) => (s === undefined ? socket.end() : socket.end(s)), replies });
      await waitFor(() => ended, 10_000);
      return { replies: lines.slice(1), closedByServer: ended };
    } finally {
      socket.destroy();
    }
  }

  const message = (to: string) => makeDsn({ to, recipients: [{ recipient: 'carol@example.org', status: '5.1.1' }], eol: '\r\n' });

  it('answers the final dot and QUIT sent in one packet before a half-close, then closes', async () => {
    const port = await start();
    const to = rp('spring', 'carol@example.org');
    const r = await session(port, async (io) => {
      io.write('EHLO mta.example\r\n');
      await io.replies(1);
      io.write('MAIL FROM:<>\r\n');
      await io.replies(1);
      io.write(`RCPT TO:<${to}>\r\n`);
      await io.replies(1);
      io.write('DATA\r\n');
      expect((await io.replies(1))[0]).to.match(/^354 /);
      io.write(message(to));
      io.end('\r\n.\r\nQUIT\r\n');
    });
    expect(r.replies.slice(-2)[0]).to.match(/^250 2\.0\.0 Ok: stored as \d+$/);
    expect(r.replies.slice(-1)[0]).to.match(/^221 /);
    expect(r.closedByServer).to.equal(true);
    expect(await countMessages()).to.equal(1);
  });

  it('answers 250 to a client that half-closes after the dot without QUIT, then closes', async () => {
    const port = await start();
    const to = rp('spring', 'carol@example.org');
    const r = await session(port, async (io) => {
      io.write('HELO mta.example\r\nMAIL FROM:<>\r\n');
      await io.replies(2);
      io.write(`RCPT TO:<${to}>\r\nDATA\r\n`);
      await io.replies(2);
      io.end(`${message(to)}\r\n.\r\n`);
    });
    expect(r.replies.slice(-1)[0]).to.match(/^250 2\.0\.0 Ok: stored as \d+$/);
    expect(r.closedByServer).to.equal(true);
    expect(await countMessages()).to.equal(1);
    await waitUntil(() => running!.smtp.sessions === 0);
  });

  it('answers MAIL, RCPT and DATA pipelined in one packet (RFC 2920), then the message, dot, QUIT and half-close', async () => {
    const port = await start();
    const to = rp('spring', 'carol@example.org');
    const r = await session(port, async (io) => {
      io.write('EHLO mta.example\r\n');
      expect((await io.replies(1))[0]).to.match(/^250 /);
      io.write(`MAIL FROM:<>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
      const three = await io.replies(3);
      expect(three.map((l) => l.slice(0, 3))).to.deep.equal(['250', '250', '354']);
      io.end(`${message(to)}\r\n.\r\nQUIT\r\n`);
    });
    expect(r.replies.slice(-2)[0]).to.match(/^250 2\.0\.0 Ok: stored as \d+$/);
    expect(r.replies.slice(-1)[0]).to.match(/^221 /);
    expect(r.closedByServer).to.equal(true);
    expect(await countMessages()).to.equal(1);
  });

  it('answers a whole transaction pipelined in one packet with a half-close', async () => {
    const port = await start();
    const to = rp('spring', 'carol@example.org');
    const r = await session(port, async (io) => {
      io.end(`EHLO mta.example\r\nMAIL FROM:<>\r\nRCPT TO:<${to}>\r\nDATA\r\n${message(to)}\r\n.\r\nQUIT\r\n`);
    });
    expect(r.replies.map((l) => l.slice(0, 3))).to.deep.equal(['250', '250', '250', '354', '250', '221']);
    expect(r.closedByServer).to.equal(true);
    expect(await countMessages()).to.equal(1);
  });

  it('closes a half-closed idle connection at once and releases its session', async () => {
    const port = await start({ socketTimeoutMs: 60_000 });
    const r = await session(port, async (io) => {
      io.write('EHLO mta.example\r\n');
      await io.replies(1);
      io.end();
    });
    expect(r.closedByServer).to.equal(true);
    await waitUntil(() => running!.smtp.sessions === 0);
  });

  it('closes a connection half-closed in the middle of a message without storing it', async () => {
    const port = await start({ socketTimeoutMs: 60_000 });
    const to = rp('spring', 'carol@example.org');
    const r = await session(port, async (io) => {
      io.write(`EHLO mta.example\r\nMAIL FROM:<>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
      await io.replies(4);
      io.end(message(to).slice(0, 300));
    });
    expect(r.closedByServer).to.equal(true);
    await waitUntil(() => running!.smtp.sessions === 0);
    expect(await countMessages()).to.equal(0);
  });

  it('releases a half-closed connection whose client reads nothing', async () => {
    const port = await start({ socketTimeoutMs: 1000 });
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.on('error', () => {});
    try {
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      // No 'data' listener: the client never reads the greeting, the reply or the server's FIN.
      // Half-closed with a partial command line: it is answered (503), nothing more can come.
      socket.end('MAIL FROM:<');
      await waitUntil(() => running!.smtp.sessions === 0);
    } finally {
      socket.destroy();
    }
  });

  async function waitUntil(test: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});
