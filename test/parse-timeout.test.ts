import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, startServer, type App, type RunningServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { VerpSettings } from '../src/domain/verp.js';
import { envelopeSenderOf } from '../src/dsn/parse.js';
import { INLINE_PARSE_MAX_BYTES, ParsePool } from '../src/services/parse-pool.js';
import { TEST_DOMAIN, TEST_SECRET, TEST_TOKEN, testConfig } from './helpers/config.js';
import { createSqlite } from './helpers/db.js';
import { parseMetrics, request } from './helpers/http.js';
import { captureLogger } from './helpers/logs.js';
import { sendMail } from './helpers/smtp.js';

/**
 * One message cannot hold the receiver: a parse that goes over `ingest.parseTimeoutMs` ends its
 * thread, and the message is answered 250, stored raw as parse_timeout, logged once, counted,
 * and parsed again by replay. The parser is made to hang by a marker the parse threads of a
 * test are told to hang on (a hook that only tests set); other sessions and /healthz are
 * answered meanwhile. Without parse threads (the default), messages over 16 KiB are parsed in
 * one thread of their own, under the same limit.
 */
const ROOT = join(import.meta.dirname, '..');
const verp: VerpSettings = { prefix: 'bounce', domains: [TEST_DOMAIN], secret: TEST_SECRET, previousSecrets: [] };
const HANG = 'X-Test-Hang-Parser';
const sample = readFileSync(join(ROOT, 'samples', 'postfix-user-unknown.eml'), 'latin1');

/** A sample, padded past the in-thread size, with the hang marker when asked. */
function message(hang: boolean, tag: string): Buffer {
  const [head, ...body] = sample.split(/\r?\n\r?\n/);
  const padding = Array.from({ length: 1000 }, (_, i) => `padding line ${i} of ${tag}`).join('\n');
  return Buffer.from(`${head}\nX-Tag: ${tag}${hang ? `\n${HANG}: yes` : ''}\n\n${body.join('\n\n')}\n${padding}\n`, 'latin1');
}

describe('parse time limit', function () {
  this.timeout(60_000);

  it('answers a message over the limit as timed out, without blaming the message parsed beside it', async () => {
    const pool = new ParsePool({ threads: 1, timeoutMs: 300, hooks: { hangOn: HANG } });
    try {
      const slow = message(true, 'slow');
      const ok = message(false, 'ok');
      const started = Date.now();
      const [a, b] = await Promise.all([slow, ok].map((raw) => pool.prepare({ raw, mailFrom: envelopeSenderOf(raw), rcptTo: [], transport: 'smtp' }, verp)));
      expect(Date.now() - started).to.be.below(20_000);
      expect(a!.timedOut).to.equal(true);
      expect(a!.report.problems[0]).to.match(/longer than 300 ms/);
      expect(b!.timedOut).to.equal(undefined);
      expect(b!.report.format).to.equal('postfix');
      expect(pool.stats).to.include({ timedOut: 1, inThread: 0 });
      // The next message gets a new thread.
      expect((await pool.prepare({ raw: ok, mailFrom: '', rcptTo: [], transport: 'smtp' }, verp)).report.format).to.equal('postfix');
    } finally {
      await pool.close();
    }
  });

  it('parses small messages in-thread when only the limit asks for a thread', async () => {
    const pool = new ParsePool({ threads: 1, timeoutMs: 300, inlineMaxBytes: INLINE_PARSE_MAX_BYTES, hooks: { hangOn: HANG } });
    try {
      const raw = Buffer.from(sample, 'latin1');
      expect(raw.length).to.be.below(INLINE_PARSE_MAX_BYTES);
      await pool.prepare({ raw, mailFrom: '', rcptTo: [], transport: 'smtp' }, verp);
      expect(pool.stats).to.include({ inThread: 1, inWorker: 0 });
      expect(pool.workers).to.have.length(0);
    } finally {
      await pool.close();
    }
  });

  it('with the default settings: 250, stored as parse_timeout, logged once, counted, other sessions and /healthz answered, replayable', async () => {
    const db = createSqlite();
    const { logger, entries } = captureLogger();
    let app: App | null = null;
    let server: RunningServer | null = null;
    try {
      app = await createApp(testConfig(db.url, { ingest: { parseTimeoutMs: 1500 }, http: { enabled: true, tokens: [TEST_TOKEN] } }), { logger, parseHooks: { hangOn: HANG } });
      expect(app.config.ingest.parseThreads).to.equal(0);
      server = await startServer(app);
      const port = server.address.port;
      const base = `http://127.0.0.1:${server.httpAddress!.port}`;
      const to = [`postmaster@${TEST_DOMAIN}`];
      const slow = sendMail(port, { from: '', to }, message(true, 'slow'));
      // While the slow one is being parsed: other sessions and /healthz are answered.
      await new Promise((r) => setTimeout(r, 200));
      const meanwhile = Date.now();
      const health = await request(base, '/healthz');
      expect(health.status).to.equal(200);
      const small = await sendMail(port, { from: '', to }, sample);
      expect(small.response).to.match(/^250 /);
      expect(Date.now() - meanwhile, 'answered while the slow message is being parsed').to.be.below(1500);
      expect((await slow).response).to.match(/^250 /);

      const rows = await app.db.knex('messages').select('id', 'status', 'format', 'problems').orderBy('id');
      expect(rows.map((r: { status: string }) => r.status).sort()).to.deep.equal(['parse_timeout', 'unattributed'].sort());
      const timedOut = rows.find((r: { status: string }) => r.status === 'parse_timeout');
      expect(timedOut.format).to.equal('none');
      expect(entries.filter((e) => e.code === 'PARSE_TIMEOUT')).to.have.length(1);
      const metrics = parseMetrics((await request(base, '/metrics', { token: TEST_TOKEN })).text);
      expect(metrics.get('rebond_parse_timeouts_total{transport="smtp"}')).to.equal(1);
      expect(metrics.get('rebond_messages_total{transport="smtp",kind="unknown",status="parse_timeout"}')).to.equal(1);

      // Replay parses it again (the hook is not there: the parser was "fixed").
      const replayed = await app.replayer.replay();
      expect(replayed.changed).to.equal(1);
      const after = await app.db.knex('messages').where({ id: timedOut.id }).first();
      expect(after.status).to.equal('unattributed');
      expect(after.format).to.equal('postfix');
    } finally {
      if (server) await server.stop();
      else await app?.close();
      await db.drop();
    }
  });

  it('reads ingest.parseTimeoutMs from REBOND_INGEST_PARSE_TIMEOUT_MS', () => {
    const env = { REBOND_VERP_SECRET: TEST_SECRET, REBOND_INGEST_PARSE_TIMEOUT_MS: '2500' };
    expect(loadConfig({ skipDefaultsFile: true, env }).ingest.parseTimeoutMs).to.equal(2500);
    expect(loadConfig({ skipDefaultsFile: true, env: { REBOND_VERP_SECRET: TEST_SECRET } }).ingest.parseTimeoutMs).to.equal(10_000);
  });
});
