import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareFleet, secretFingerprint, type FleetSettings } from '../src/services/fleet.js';
import type { ReceiverRecord } from '../src/storage/receivers.js';
import { TEST_DOMAIN, TEST_SECRET } from './helpers/config.js';
import { describeEachDatabase } from './helpers/db.js';
import { runCli, startReceiver, type Receiver } from './helpers/process.js';

interface Listed {
  readonly address: string;
  readonly settings: { readonly rules: { readonly softThreshold: number } };
}

const OTHER_SECRET = 'other-secret-7c1e9a3f5b2d4e6f8a0c2e4f6a8b0d2f';

describeEachDatabase('rebond check', (slot) => {
  const running: Receiver[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null) r.child.kill('SIGTERM');
      await r.exited();
    }
  });
  const env = (extra: Record<string, string> = {}) => ({ REBOND_DATABASE_URL: slot.url, REBOND_VERP_SECRET: TEST_SECRET, REBOND_VERP_DOMAINS: TEST_DOMAIN, ...extra });
  const start = async (extra: Record<string, string> = {}) => {
    const r = await startReceiver(env(extra));
    running.push(r);
    return r;
  };
  const check = (extra: Record<string, string> = {}) => {
    const r = runCli(['check', '--json'], env(extra));
    return { status: r.status, report: JSON.parse(r.stdout) as { receivers: { live: Listed[]; stopped: Listed[] }; problems: Array<{ level: string; message: string }> }, stderr: r.stderr };
  };

  it('lists the running receivers and exits 0 when they agree with one another and with this configuration', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const { status, report, stderr } = check();
    expect(status, stderr).to.equal(0);
    expect(report.problems).to.deep.equal([]);
    const live = report.receivers.live.map((r) => r.address);
    expect(live).to.include(`127.0.0.1:${a.port}`).and.to.include(`127.0.0.1:${b.port}`);
    a.child.kill('SIGTERM');
    await a.exited();
    expect(check().report.receivers.stopped.map((r) => r.address)).to.include(`127.0.0.1:${a.port}`);
  });

  it('exits 1 and names the setting when a receiver counts soft bounces differently or cannot verify the others’ return paths', async () => {
    await Promise.all([start(), start({ REBOND_RULES_SOFT_THRESHOLD: '5', REBOND_VERP_SECRET: OTHER_SECRET })]);
    const { status, report } = check();
    expect(status).to.equal(1);
    const errors = report.problems.filter((p) => p.level === 'error').map((p) => p.message);
    expect(errors.some((m) => m.startsWith('rules.softThreshold differs: 3 on this configuration'))).to.equal(true);
    expect(errors.some((m) => m.includes('refuses return paths signed with the secret of this configuration'))).to.equal(true);
    expect(report.problems.map((p) => p.message).join('\n')).not.to.contain(OTHER_SECRET).and.not.to.contain(TEST_SECRET);
  });

  it('shows the settings a receiver took on SIGHUP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rebond-check-'));
    try {
      const file = join(dir, 'rebond.json');
      writeFileSync(file, JSON.stringify({ rules: { softThreshold: 3 } }));
      const r = await start({ REBOND_CONFIG: file });
      const threshold = () => check().report.receivers.live.find((x) => x.address === `127.0.0.1:${r.port}`)?.settings.rules.softThreshold;
      expect(threshold()).to.equal(3);
      writeFileSync(file, JSON.stringify({ rules: { softThreshold: 4 } }));
      r.child.kill('SIGHUP');
      const deadline = Date.now() + 20_000;
      while (threshold() !== 4) {
        if (Date.now() > deadline) throw new Error('the receivers row never showed the reloaded threshold');
        await new Promise((ok) => setTimeout(ok, 200));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rebond check without a database', () => {
  it('exits 1 when the database cannot be reached', () => {
    const r = runCli(['check'], { REBOND_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing', REBOND_DATABASE_ACQUIRE_TIMEOUT_MS: '1000', REBOND_VERP_SECRET: TEST_SECRET });
    expect(r.status).to.equal(1);
    expect(r.stdout).to.contain('error: cannot reach the database');
  });
});

describe('comparing the receivers that share a database', () => {
  const now = new Date('2026-11-28T12:00:00Z');
  const settings = (over: { secret?: string; previous?: string[]; domains?: string[]; threshold?: number; poolMax?: number } = {}): FleetSettings => ({
    verp: { secret: secretFingerprint(over.secret ?? TEST_SECRET), previousSecrets: (over.previous ?? []).map(secretFingerprint), domains: over.domains ?? ['b.example.com'], prefix: 'bounce' },
    rules: { softThreshold: over.threshold ?? 3 },
    smtp: { maxMessageBytes: 10_485_760, maxRecipients: 10 },
    database: { poolMax: over.poolMax ?? 10, statementTimeoutMs: 15_000, acquireTimeoutMs: 5000 },
  });
  const receiver = (name: string, s: FleetSettings, seenAgoMs = 1000, stopped = false, version = '1.0.0'): ReceiverRecord => ({
    name,
    hostname: name,
    address: '0.0.0.0:25',
    pid: 1,
    version,
    schema: 's1',
    settings: s as unknown as Record<string, unknown>,
    startedAt: '2026-11-28T00:00:00.000Z',
    seenAt: new Date(now.getTime() - seenAgoMs).toISOString(),
    stoppedAt: stopped ? '2026-11-28T11:00:00.000Z' : null,
  });
  const messages = (r: ReturnType<typeof compareFleet>) => r.problems.map((p) => `${p.level}: ${p.message}`);

  it('finds nothing to say about receivers that agree', () => {
    expect(messages(compareFleet([receiver('mx1', settings()), receiver('mx2', settings())], now, null))).to.deep.equal([]);
  });

  it('calls a secret rotation a warning while every receiver accepts every current secret, and an error when one does not', () => {
    const rotating = compareFleet([receiver('mx1', settings({ secret: OTHER_SECRET, previous: [TEST_SECRET] })), receiver('mx2', settings({ previous: [OTHER_SECRET] }))], now, null);
    expect(messages(rotating)).to.deep.equal(['warning: verp.secret differs, but each one is accepted everywhere (a rotation in progress?)']);
    const broken = compareFleet([receiver('mx1', settings({ secret: OTHER_SECRET, previous: [TEST_SECRET] })), receiver('mx2', settings())], now, null);
    expect(messages(broken)).to.deep.equal([`error: mx2 refuses return paths signed with the secret of mx1 (verp.secret fingerprint ${secretFingerprint(OTHER_SECRET)})`]);
  });

  it('reports different bounce domains as an error and different versions as a warning', () => {
    const r = compareFleet([receiver('mx1', settings()), receiver('mx2', settings({ domains: ['b.example.com', 'c.example.com'] }), 1000, false, '1.1.0')], now, null);
    expect(messages(r)).to.deep.equal(['error: verp.domains differs: ["b.example.com"] on mx1; ["b.example.com","c.example.com"] on mx2', 'warning: version differs: "1.0.0" on mx1; "1.1.0" on mx2']);
  });

  it('leaves stopped receivers out, and names silent ones', () => {
    const r = compareFleet([receiver('mx1', settings()), receiver('old', settings({ threshold: 9 }), 1000, true), receiver('gone', settings({ threshold: 7 }), 10 * 60_000)], now, null);
    expect(r.live.map((x) => x.name)).to.deep.equal(['mx1']);
    expect(r.stopped.map((x) => x.name)).to.deep.equal(['old']);
    expect(messages(r)).to.deep.equal([`warning: gone has not been seen since ${new Date(now.getTime() - 600_000).toISOString()} (it stopped without saying so, or cannot reach the database)`]);
  });

  it('warns when the receivers’ pools could use up the connections PostgreSQL allows', () => {
    const r = compareFleet([receiver('mx1', settings({ poolMax: 50 })), receiver('mx2', settings({ poolMax: 50 }))], now, null, 100);
    expect(messages(r)).to.deep.equal(['warning: the receivers may open 100 connections and PostgreSQL allows 100 (lower database.poolMax or raise max_connections)']);
  });
});
