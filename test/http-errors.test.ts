import { expect } from 'chai';
import net from 'node:net';
import { createApp, startServer, type RunningServer } from '../src/app.js';
import { silentLogger } from '../src/logger.js';
import { testConfig, TEST_TOKEN } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request written byte for byte (a client may send what fetch would never). */
function raw(port: number, head: string, body = ''): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(Buffer.concat([Buffer.from(`${head}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n`, 'latin1'), Buffer.from(body)])));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = top.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

/**
 * Hostile sign-in targets and malformed requests, over real HTTP: a redirect to a path of this
 * server or a plain 4xx, always with the pages' security headers, never a 500 or a stack.
 */
describe('HTTP error handling', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let server: RunningServer;
  let port: number;

  before(async () => {
    db = createSqlite();
    const app = await createApp(testConfig(db.url, { http: { enabled: true, tokens: [TEST_TOKEN] } }), { logger: silentLogger });
    server = await startServer(app);
    port = server.httpAddress!.port;
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
  });

  const secured = (r: RawReply, what: string) => {
    expect(r.headers['content-security-policy'], what).to.contain("default-src 'none'");
    expect(r.headers['x-content-type-options'], what).to.equal('nosniff');
    expect(r.headers['x-frame-options'], what).to.equal('DENY');
    expect(r.headers['referrer-policy'], what).to.equal('same-origin');
    expect(r.status, what).to.be.below(500);
    expect(r.body, what).not.to.match(/\bat .*\.[jt]s:\d+|FST_|ERR_|Error:|valid url component/);
  };

  const form = (next: string) => `token=${encodeURIComponent(TEST_TOKEN)}&next=${next}`;
  const hostile = ['/%C4%80', '/%01', '/a%0D%0ASet-Cookie:%20x=1', '//evil.example/', '/%5Cevil.example', '/\\evil.example', 'https://evil.example/', '/%7F', `/${'a'.repeat(3000)}`, '', 'campaigns'];

  it('sends a signed-in person to / when next is not a plain path of this server', async () => {
    for (const next of hostile) {
      const r = await raw(port, 'POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded', form(next));
      secured(r, `POST next=${next}`);
      expect(r.status, next).to.equal(303);
      expect(r.headers['location'], next).to.equal('/');
      const g = await raw(port, `GET /login?next=${next} HTTP/1.1\r\nAuthorization: Bearer ${TEST_TOKEN}`);
      secured(g, `GET next=${next}`);
      expect(g.status, next).to.equal(303);
      expect(g.headers['location'], next).to.equal('/');
    }
    // A plain path with its query is kept.
    const ok = await raw(port, 'POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded', form(encodeURIComponent('/campaigns/spring-sale?page=2')));
    expect(ok.headers['location']).to.equal('/campaigns/spring-sale?page=2');
  });

  it('answers malformed requests and unknown pages with a plain 4xx and the security headers', async () => {
    const cases: Array<[string, string, number]> = [
      ['GET /nothing-here HTTP/1.1', '', 302],
      [`GET /nothing-here HTTP/1.1\r\nAuthorization: Bearer ${TEST_TOKEN}`, '', 404],
      [`GET /campaigns/%E0%A4%A HTTP/1.1\r\nAuthorization: Bearer ${TEST_TOKEN}`, '', 400],
      [`GET /login?next=%E0%A4%A HTTP/1.1`, '', 200],
      [`POST /api/contacts/x/unbounce HTTP/1.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json`, '{"reason": ', 400],
      [`POST /api/contacts/x/unbounce HTTP/1.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: text/plain`, 'x', 415],
      ['POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded', `token=${'x'.repeat(70_000)}`, 413],
    ];
    for (const [head, body, status] of cases) {
      const r = await raw(port, head, body);
      secured(r, head);
      if (status === 302) expect(r.status, head).to.be.within(300, 399);
      else expect(r.status, head).to.equal(status);
    }
  });
});
