import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_HTTP_TOKEN } from '../src/config.js';
import { TEST_DOMAIN, TEST_SECRET, TEST_TOKEN } from './helpers/config.js';
import { createSqlite, type TestDatabase } from './helpers/db.js';
import { request } from './helpers/http.js';
import { runCli, startReceiver, type Receiver } from './helpers/process.js';

const NEW_TOKEN = 'rotated-http-token-9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a';

/** `rebond serve` runs the HTTP server beside the SMTP listener (child process). */
describe('rebond serve with the HTTP server', function () {
  this.timeout(90_000);
  let db: TestDatabase;
  let dir: string;
  let receiver: Receiver | null = null;

  beforeEach(() => {
    db = createSqlite();
    dir = mkdtempSync(join(tmpdir(), 'rebond-http-'));
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

  it('serves the API on its own port, takes a new token on SIGHUP (never none), and stops with the listener on SIGTERM', async () => {
    const file = join(dir, 'rebond.json');
    const write = (tokens: string[]) => writeFileSync(file, JSON.stringify({ verp: { secret: TEST_SECRET, domains: [TEST_DOMAIN] }, http: { enabled: true, port: 0, tokens } }));
    write([TEST_TOKEN]);
    receiver = await startReceiver({ REBOND_DATABASE_URL: db.url, REBOND_HTTP_ENABLED: 'true' }, ['--config', file]);
    const listening = await receiver.waitForLog('HTTP_LISTENING');
    const base = `http://127.0.0.1:${Number(listening['port'])}`;
    expect(Number(listening['port'])).not.to.equal(receiver.port);
    expect((await request(base, '/healthz')).json).to.deep.include({ status: 'ok' });
    expect((await request(base, '/api/campaigns', { token: TEST_TOKEN })).status).to.equal(200);

    write([NEW_TOKEN]);
    receiver.child.kill('SIGHUP');
    const reloaded = await receiver.waitForLog('CONFIG_RELOADED');
    expect(reloaded['applied']).to.deep.equal(['http.tokens']);
    expect((await request(base, '/api/campaigns', { token: TEST_TOKEN })).status).to.equal(401);
    expect((await request(base, '/api/campaigns', { token: NEW_TOKEN })).status).to.equal(200);
    // A configuration that leaves the running HTTP server without a token is refused whole.
    write([]);
    receiver.child.kill('SIGHUP');
    expect((await receiver.waitForLog('CONFIG_RELOAD_FAILED'))['error']).to.contain('http.tokens');
    expect((await request(base, '/api/campaigns', { token: NEW_TOKEN })).status).to.equal(200);

    receiver.child.kill('SIGTERM');
    expect(await receiver.exited()).to.equal(0);
    const after = await fetch(`${base}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(after).to.equal('refused');
    const logged = JSON.stringify(receiver.logs);
    expect(logged).not.to.contain(TEST_TOKEN);
    expect(logged).not.to.contain(NEW_TOKEN);
  });

  it('refuses development mode on any address that is not loopback, with one line and exit status 2, even with a token', () => {
    const base = { REBOND_DATABASE_URL: db.url, REBOND_HTTP_ENABLED: 'true', REBOND_HTTP_PORT: '0', REBOND_SMTP_PORT: '0', REBOND_HTTP_TOKENS: 'weak' };
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['--dev', 'serve'], { REBOND_SMTP_HOST: '0.0.0.0' }, 'smtp.host 0.0.0.0'],
      [['--dev', 'serve'], { REBOND_SMTP_HOST: '::' }, 'smtp.host ::'],
      [['--dev', 'serve'], { REBOND_HTTP_HOST: '192.0.2.10', REBOND_HTTP_TOKENS: TEST_TOKEN }, 'http.host 192.0.2.10'],
      [['serve'], { REBOND_MODE: 'development', REBOND_SMTP_HOST: '0.0.0.0', REBOND_VERP_SECRET: TEST_SECRET }, 'smtp.host 0.0.0.0'],
    ];
    for (const [args, env, named] of cases) {
      const r = runCli(args, { ...base, ...env });
      expect(r.status, named).to.equal(2);
      const lines = r.stderr.split('\n').filter((l) => l && !l.includes('warning: development mode'));
      expect(lines, named).to.have.length(1);
      expect(lines[0]).to.match(/^rebond: development mode listens on loopback addresses only, not /);
      expect(lines[0]).to.contain(named);
      expect(r.stderr).not.to.match(/\bat .*\.[jt]s:\d+/);
    }
  });

  it('refuses to serve HTTP without a token, and in development mode takes the built-in one on a loopback address only', async () => {
    const base = { REBOND_DATABASE_URL: db.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_HTTP_ENABLED: 'true', REBOND_HTTP_PORT: '0', REBOND_SMTP_PORT: '0' };
    const production = runCli(['serve'], base);
    expect(production.status).to.equal(2);
    expect(production.stderr).to.contain('http.tokens: the HTTP server needs at least one token');
    const exposed = runCli(['--dev', 'serve'], { ...base, REBOND_HTTP_HOST: '0.0.0.0' });
    expect(exposed.status).to.equal(2);
    expect(exposed.stderr).to.contain('development mode listens on loopback addresses only, not http.host 0.0.0.0');
    const weak = runCli(['serve'], { ...base, REBOND_HTTP_TOKENS: 'secret' });
    expect(weak.status).to.equal(2);
    expect(weak.stderr).to.contain('http.tokens[0]: is too short');
    // Without the HTTP server no token is needed (this run then stops at a bad smtp.port, before listening).
    const without = runCli(['serve'], { ...base, REBOND_HTTP_ENABLED: 'false', REBOND_SMTP_PORT: '-1' });
    expect(without.stderr).to.contain('smtp.port');
    expect(without.stderr).not.to.contain('http.tokens');

    receiver = await startReceiver({ REBOND_DATABASE_URL: db.url, REBOND_HTTP_ENABLED: 'true' }, ['--dev']);
    const warned = await receiver.waitForLog('CONFIG_DEV_HTTP_TOKEN');
    expect(warned['level']).to.equal('warn');
    const port = Number((await receiver.waitForLog('HTTP_LISTENING'))['port']);
    expect((await request(`http://127.0.0.1:${port}`, '/api/campaigns', { token: DEV_HTTP_TOKEN })).status).to.equal(200);
    receiver.child.kill('SIGTERM');
    expect(await receiver.exited()).to.equal(0);
  });
});
