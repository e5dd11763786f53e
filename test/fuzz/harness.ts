import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import knexFactory from 'knex';
import { sqlitePath } from '../../src/storage/db.js';
import { TEST_DOMAIN, TEST_SECRET } from '../helpers/config.js';
import { createSqlite } from '../helpers/db.js';
import { peakRss, startReceiver, type Receiver } from '../helpers/process.js';
import { Dialog } from '../helpers/smtp.js';
import { FUZZ_RCPT, hostileMessage, type FuzzCase } from './messages.js';

/**
 * Runs hostile messages through a real receiver (`rebond serve` in a child process, SQLite):
 * each over SMTP, on several concurrent sessions. A case passes when it is stored exactly as
 * sent (answered 250) or refused with 552 because it is over a size limit; anything else (no
 * reply, another reply, a crash) is a failure. At the end the receiver must still serve and
 * stop cleanly, and every message answered 250 is read back from the database.
 */

export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /** Cases always run first (edge cases). */
  readonly fixed?: readonly FuzzCase[];
  readonly sessions?: number;
  readonly maxMessageBytes?: number;
  readonly maxHeaderBytes?: number;
  /** Raw bytes the receiver keeps per message (storage.rawMaxBytes). */
  readonly rawMaxBytes?: number;
  /** Where failing cases are written (one file each), if given. */
  readonly failureDir?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FuzzReport {
  readonly cases: number;
  readonly stored: number;
  readonly duplicates: number;
  readonly refused: number;
  readonly byStatus: Record<string, number>;
  readonly failures: Array<{ kind: string; index: number; reply: string; file?: string }>;
  readonly durationMs: number;
  /** Peak resident memory of the receiver, bytes (null where /proc is not available). */
  readonly peakRss: number | null;
  readonly slowestMs: number;
  readonly slowestKind: string;
  /** The slowest case's number (run again with the same seed), and its bytes where failureDir is given. */
  readonly slowestIndex: number;
  readonly slowestFile?: string;
  readonly exitCode: number | null;
  readonly bytes: number;
}

const CHUNK = 100;
const CASES_PER_SESSION = 250;

/** The bytes to send after DATA for `raw`, and the bytes the receiver must then store. */
export function dataFor(raw: Buffer): { wire: Buffer; stored: Buffer } {
  const stored = raw.length >= 2 && raw[raw.length - 2] === 13 && raw[raw.length - 1] === 10 ? raw : Buffer.concat([raw, Buffer.from('\r\n')]);
  // Dot-stuffing: a dot that starts a line (after LF, or first) is doubled; the receiver removes it.
  const parts: Buffer[] = [];
  let start = 0;
  if (stored[0] === 0x2e) parts.push(Buffer.from('.'));
  for (let i = stored.indexOf('\n.'); i >= 0; i = stored.indexOf('\n.', i + 1)) {
    parts.push(stored.subarray(start, i + 1), Buffer.from('.'));
    start = i + 1;
  }
  parts.push(stored.subarray(start), Buffer.from('.\r\n'));
  return { wire: Buffer.concat(parts), stored };
}

function headerTooBig(raw: Buffer, limit: number): boolean {
  const ends = [raw.indexOf('\r\n\r\n'), raw.indexOf('\n\n')].filter((i) => i >= 0);
  return ends.length > 0 ? Math.min(...ends) > limit : raw.length > limit;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const maxMessageBytes = options.maxMessageBytes ?? 10 * 1024 * 1024;
  const maxHeaderBytes = options.maxHeaderBytes ?? 256 * 1024;
  const rawMaxBytes = options.rawMaxBytes ?? 1024 * 1024;
  const sessions = options.sessions ?? 4;
  const fixed = options.fixed ?? [];
  const total = fixed.length + options.cases;
  const db = createSqlite();
  const receiver: Receiver = await startReceiver({
    REBOND_DATABASE_URL: db.url,
    REBOND_VERP_SECRET: TEST_SECRET,
    REBOND_VERP_DOMAINS: TEST_DOMAIN,
    REBOND_SMTP_MAX_MESSAGE_BYTES: String(maxMessageBytes),
    REBOND_SMTP_MAX_HEADER_BYTES: String(maxHeaderBytes),
    REBOND_STORAGE_RAW_MAX_BYTES: String(rawMaxBytes),
  });
  const started = Date.now();
  const expected = new Map<number, { sha: string; index: number; kind: string }>();
  const failures: FuzzReport['failures'] = [];
  let stored = 0;
  let duplicates = 0;
  let refused = 0;
  let bytes = 0;
  let slowestMs = 0;
  let slowestKind = '';
  let slowestIndex = -1;
  let slowestRaw: Buffer | null = null;
  let done = 0;

  const fail = (c: FuzzCase, index: number, reply: string) => {
    let file: string | undefined;
    if (options.failureDir) {
      mkdirSync(options.failureDir, { recursive: true });
      file = join(options.failureDir, `case-${options.seed}-${index}.eml`);
      writeFileSync(file, c.raw);
    }
    failures.push({ kind: c.kind, index, reply: reply.slice(0, 300), ...(file ? { file } : {}) });
  };

  /** Case `index` (fixed cases first, then generated ones, in chunks of CHUNK per seed). */
  const caseAt = (() => {
    let chunkIndex = -1;
    let chunk: FuzzCase[] = [];
    return (index: number): FuzzCase => {
      if (index < fixed.length) return fixed[index]!;
      const g = index - fixed.length;
      const wanted = Math.floor(g / CHUNK);
      if (wanted !== chunkIndex) {
        chunkIndex = wanted;
        chunk = fc.sample(hostileMessage, { seed: options.seed + wanted, numRuns: CHUNK });
      }
      return chunk[g % CHUNK]!;
    };
  })();

  let next = 0;
  const worker = async () => {
    let dialog: Dialog | null = null;
    let inSession = 0;
    try {
      while (next < total) {
        const index = next++;
        const c = caseAt(index);
        if (!dialog || dialog.isClosed || inSession >= CASES_PER_SESSION) {
          dialog?.close();
          ({ dialog } = await Dialog.open(receiver.port));
          await dialog.command('EHLO fuzz.example');
          inSession = 0;
        }
        inSession++;
        const t0 = Date.now();
        const { wire, stored: expectedBytes } = dataFor(c.raw);
        bytes += expectedBytes.length;
        let reply = await dialog.command('MAIL FROM:<>');
        if (reply.startsWith('250')) reply = await dialog.command(`RCPT TO:<${FUZZ_RCPT}>`);
        if (reply.startsWith('250')) reply = await dialog.command('DATA');
        if (reply.startsWith('354')) {
          dialog.write(wire);
          reply = await dialog.reply(120_000).catch(() => 'no reply in 120 s');
        }
        const ms = Date.now() - t0;
        if (ms > slowestMs) {
          slowestMs = ms;
          slowestKind = c.kind;
          slowestIndex = index;
          slowestRaw = c.raw;
        }
        const id = /^250 2\.0\.0 Ok: (already )?stored as (\d+)$/.exec(reply);
        if (id) {
          if (id[1]) duplicates++;
          else {
            stored++;
            // Kept byte for byte, up to storage.rawMaxBytes (what is said is stored whole).
            expected.set(Number(id[2]), { sha: createHash('sha256').update(expectedBytes.subarray(0, rawMaxBytes)).digest('hex'), index, kind: c.kind });
          }
        } else if (reply.startsWith('552 5.3.4 ') && (expectedBytes.length > maxMessageBytes || headerTooBig(expectedBytes, maxHeaderBytes))) {
          refused++;
        } else {
          fail(c, index, reply || 'connection closed without a reply');
          dialog.close();
          dialog = null;
        }
        options.onProgress?.(++done, total);
      }
      await dialog?.command('QUIT').catch(() => '');
    } finally {
      dialog?.close();
    }
  };
  await Promise.all(Array.from({ length: sessions }, () => worker()));
  const durationMs = Date.now() - started;
  const rss = peakRss(receiver.child.pid!);

  // Still serving after all that, and it stops cleanly.
  const alive = await Dialog.open(receiver.port).then(
    async ({ dialog, greeting }) => {
      dialog.close();
      return greeting.startsWith('220');
    },
    () => false,
  );
  if (!alive) failures.push({ kind: 'receiver', index: -1, reply: 'not serving after the run' });
  receiver.child.kill('SIGTERM');
  const exitCode = await receiver.exited();
  if (exitCode !== 0) failures.push({ kind: 'receiver', index: -1, reply: `exit status ${exitCode}: ${receiver.logs.slice(-5).map((l) => JSON.stringify(l)).join(' ')}` });

  // Every 250 is in the database, byte for byte (its first rawMaxBytes bytes).
  const knex = knexFactory({ client: 'sqlite3', connection: { filename: sqlitePath(db.url) }, useNullAsDefault: true });
  const byStatus: Record<string, number> = {};
  try {
    const ids = [...expected.keys()];
    for (let i = 0; i < ids.length; i += 200) {
      const rows: Array<{ id: number; raw: Buffer; status: string }> = await knex('messages').whereIn('id', ids.slice(i, i + 200)).select('id', 'raw', 'status');
      const found = new Map(rows.map((r) => [Number(r.id), r]));
      for (const id of ids.slice(i, i + 200)) {
        const want = expected.get(id)!;
        const row = found.get(id);
        if (!row) failures.push({ kind: want.kind, index: want.index, reply: `answered 250 as ${id} but not stored` });
        else if (createHash('sha256').update(row.raw).digest('hex') !== want.sha) failures.push({ kind: want.kind, index: want.index, reply: `stored as ${id} with other bytes` });
        else byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
      }
    }
  } finally {
    await knex.destroy();
    await db.drop();
  }
  let slowestFile: string | undefined;
  if (options.failureDir && slowestRaw) {
    mkdirSync(options.failureDir, { recursive: true });
    slowestFile = join(options.failureDir, `slowest-${options.seed}-${slowestIndex}.eml`);
    writeFileSync(slowestFile, slowestRaw);
  }
  return { cases: total, stored, duplicates, refused, byStatus, failures, durationMs, peakRss: rss, slowestMs, slowestKind, slowestIndex, ...(slowestFile ? { slowestFile } : {}), exitCode, bytes };
}
