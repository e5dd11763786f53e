import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { classifyStatus } from '../../src/domain/classify.js';
import { applySignal, type ContactSnapshot, type Signal, type SuppressionReason } from '../../src/domain/contact-rules.js';
import { contactKey, encodeReturnPath, type VerpSettings } from '../../src/domain/verp.js';
import type { Database } from '../../src/storage/db.js';
import { prng } from '../../test/helpers/workload.js';

/**
 * Fills a migrated database fast, with rows as ingest would have written them: bulk INSERT ...
 * SELECT from one JSON parameter per chunk (SQLite's json_each, PostgreSQL's
 * json_populate_recordset) into the real tables, with explicit ids.
 *
 * Every filler contact has about two records (one message each) on filler campaigns, and its
 * state, soft-bounce row, suppressions and audit trail are what the contact rules
 * (`applySignal`) make of those records: 10 % hard bounced, 5 % soft bounced (three campaigns),
 * 5 % complained, 20 % with two soft bounces in their row, 30 % with a soft bounce then a
 * delivery notice, the rest delays only. Each contact was sent each campaign it has a record on
 * (a `sends` row, with an outgoing Message-ID). Messages were received over the last 90 days,
 * inside the default raw-retention period, and carry `rawBytes` of raw bytes (random on SQLite; a
 * repeated pattern on PostgreSQL).
 */

export const FILL_CAMPAIGNS = Array.from({ length: 200 }, (_, i) => `fill-${String(i + 1).padStart(3, '0')}`);
const FILL_AUTOMATIONS = ['fill-welcome', 'fill-winback', 'fill-onboarding', 'fill-renewal'];
const DOMAINS = ['gmail.example', 'yahoo.example', 'outlook.example', 'orange.example', 'free.example', 'gmx.example', 'corp-a.example', 'laposte.example'];
const DAY = 86_400_000;
const CHUNK_CONTACTS = 10_000;

type Plan = ReadonlyArray<{ signal: 'hard' | 'soft' | 'delay' | 'delivery' | 'complaint'; code: string | null }>;

/** Records of filler contact j, by j mod 20. */
function planOf(j: number): Plan {
  const c = j % 20;
  if (c < 2) return [{ signal: 'hard', code: '5.1.1' }, { signal: 'delay', code: '4.4.1' }];
  if (c === 2) return [{ signal: 'soft', code: '4.2.2' }, { signal: 'soft', code: '5.2.2' }, { signal: 'soft', code: '4.2.2' }];
  if (c === 3) return [{ signal: 'complaint', code: null }, { signal: 'delay', code: '4.4.7' }];
  if (c < 8) return [{ signal: 'soft', code: '4.2.2' }, { signal: 'soft', code: '5.2.2' }];
  if (c < 14) return [{ signal: 'soft', code: '5.2.2' }, { signal: 'delivery', code: '2.0.0' }];
  if (c < 19) return [{ signal: 'delay', code: '4.4.1' }, { signal: 'delay', code: '4.4.7' }];
  return [{ signal: 'delay', code: '4.4.1' }];
}

/** Records per filler contact on average (planOf over 20 contacts: 40 records). */
export const RECORDS_PER_CONTACT = 2;

type Row = Record<string, unknown>;

interface Extra {
  readonly column: string;
  readonly sqlite: string;
  readonly pg: string;
}

/** INSERT INTO table (columns) SELECT ... FROM <rows as one JSON parameter>. */
async function bulk(k: Knex | Knex.Transaction, dialect: Database['dialect'], table: string, rows: readonly Row[], extra?: Extra): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const names = [...columns, ...(extra ? [extra.column] : [])].map((c) => `"${c}"`).join(', ');
  for (let i = 0; i < rows.length; i += 20_000) {
    const part = rows.slice(i, i + 20_000);
    if (dialect === 'sqlite') {
      const values = part.map((r) => columns.map((c) => r[c]));
      const select = columns.map((_, n) => `json_extract(value, '$[${n}]')`);
      if (extra) select.push(extra.sqlite);
      await k.raw(`INSERT INTO "${table}" (${names}) SELECT ${select.join(', ')} FROM json_each(?)`, [JSON.stringify(values)]);
    } else {
      const select = columns.map((c) => `x."${c}"`);
      if (extra) select.push(extra.pg);
      await k.raw(`INSERT INTO "${table}" (${names}) SELECT ${select.join(', ')} FROM json_populate_recordset(null::"${table}", ?::json) AS x`, [JSON.stringify(part)]);
    }
  }
}

async function maxId(k: Knex, table: string): Promise<number> {
  const row = (await k(table).max({ n: 'id' }).first()) as { n: number | string | null } | undefined;
  return Number(row?.n ?? 0);
}

/** Adds filler contacts `from.contacts` up to `toContacts` (and their records). */
export async function fillTo(db: Database, from: number, toContacts: number, o: { verp: VerpSettings; rawBytes: number; seed?: number; onProgress?: (done: number) => void }): Promise<void> {
  if (toContacts <= from) return;
  const k = db.knex;
  const dialect = db.dialect;
  const now = Date.now();
  const iso = (t: number) => new Date(t).toISOString();
  if (dialect === 'sqlite') await k.raw('PRAGMA synchronous=OFF');
  try {
    if (from === 0) {
      await bulk(k, dialect, 'automations', FILL_AUTOMATIONS.map((id) => ({ id, name: id, created_at: iso(now - 200 * DAY) })));
      await bulk(k, dialect, 'campaigns', FILL_CAMPAIGNS.map((id, i) => ({ id, name: `Filler ${i + 1}`, automation_id: i < 40 ? FILL_AUTOMATIONS[i % 4]! : null, created_at: iso(now - 120 * DAY + i * 3600_000) })));
    }
    let contactId = await maxId(k, 'contacts');
    let messageId = await maxId(k, 'messages');
    let bounceId = await maxId(k, 'bounces');
    let eventId = await maxId(k, 'contact_events');
    const rnd = prng((o.seed ?? 7) + from);
    const rawExtra: Extra | undefined =
      o.rawBytes > 0 ? { column: 'raw', sqlite: `randomblob(${Math.floor(o.rawBytes)})`, pg: `decode(repeat(md5(x.fingerprint), ${Math.ceil(o.rawBytes / 16)}), 'hex')` } : undefined;

    for (let start = from; start < toContacts; start += CHUNK_CONTACTS) {
      const end = Math.min(toContacts, start + CHUNK_CONTACTS);
      const contacts: Row[] = [];
      const messages: Row[] = [];
      const bounces: Row[] = [];
      const suppressions: Row[] = [];
      const events: Row[] = [];
      const sends: Row[] = [];
      const fingerprints = randomBytes(32 * (end - start) * 3).toString('hex');
      let fp = 0;
      for (let j = start; j < end; j++) {
        const email = `fill${j}@${DOMAINS[j % DOMAINS.length]}`;
        const key = contactKey(email);
        const id = ++contactId;
        let state: ContactSnapshot = { state: 'active', softCampaigns: [], complained: false };
        let bounced: { at: string; reason: SuppressionReason; bounceId: number } | null = null;
        const suppressed = new Set<string>();
        let at = now - 90 * DAY + Math.floor(rnd() * 80 * DAY);
        const plan = planOf(j);
        for (let r = 0; r < plan.length; r++) {
          const step = plan[r]!;
          const campaign = FILL_CAMPAIGNS[(j + r) % FILL_CAMPAIGNS.length]!;
          at += Math.floor(rnd() * 3 * DAY);
          const received = iso(at);
          const kind = step.signal === 'hard' || step.signal === 'soft' ? 'bounce' : step.signal;
          const signal: Signal = kind === 'bounce' ? { kind: 'bounce', type: step.signal === 'hard' ? 'hard' : 'soft', campaignId: campaign } : ({ kind } as Signal);
          const outcome = applySignal(state, signal);
          const klass = step.code && kind !== 'delivery' ? classifyStatus(step.code) : null;
          const mid = ++messageId;
          const bid = ++bounceId;
          messages.push({
            id: mid,
            fingerprint: fingerprints.slice(fp * 64, ++fp * 64),
            received_at: received,
            transport: 'smtp',
            mail_from: '',
            rcpt_to: JSON.stringify([encodeReturnPath(o.verp, campaign, email)]),
            remote_address: '192.0.2.25',
            helo: 'mx.remote.example',
            size: Math.max(600, Math.ceil(o.rawBytes / 16) * 16),
            kind,
            format: kind === 'complaint' ? 'arf' : 'postfix',
            status: 'processed',
            problems: null,
            header_message_id: `fill${j}.${r}@mta.remote.example`,
            campaign_id: campaign,
            contact_key: key,
            duplicates: 0,
          });
          bounces.push({
            id: bid,
            message_id: mid,
            campaign_id: campaign,
            contact_id: id,
            recipient: email,
            kind,
            action: kind === 'bounce' ? 'failed' : kind === 'delay' ? 'delayed' : kind === 'delivery' ? 'delivered' : null,
            status_code: step.code,
            status_source: step.code ? 'status' : null,
            type: step.signal === 'hard' || step.signal === 'soft' ? step.signal : null,
            description: klass?.description ?? null,
            diagnostic: step.code && kind !== 'delivery' ? `smtp; ${step.code.startsWith('4') ? 452 : 550} ${step.code} (${klass?.description ?? ''})` : null,
            remote_mta: 'mx.remote.example',
            reporting_mta: 'mta.remote.example',
            counted: outcome.counted,
            received_at: received,
          });
          sends.push({ campaign_id: campaign, contact_id: id, sent_at: iso(at - 3600_000), message_id: `fill${j}.${campaign}@news.bench.example` });
          for (const e of outcome.events) events.push({ id: ++eventId, contact_id: id, at: received, event: e.event, from_state: e.fromState, to_state: e.toState, actor: 'rebond', detail: e.detail, bounce_id: bid });
          if (outcome.suppress && !suppressed.has(outcome.suppress)) {
            suppressed.add(outcome.suppress);
            suppressions.push({ contact_id: id, email, reason: outcome.suppress, bounce_id: bid, created_at: received });
          }
          if (state.state !== 'bounced' && outcome.next.state === 'bounced') bounced = { at: received, reason: outcome.suppress!, bounceId: bid };
          state = outcome.next;
        }
        contacts.push({
          id,
          email,
          email_key: key,
          state: state.state,
          soft_campaigns: JSON.stringify(state.softCampaigns),
          complained: state.complained,
          bounced_at: bounced?.at ?? null,
          bounced_reason: bounced?.reason ?? null,
          bounce_id: bounced?.bounceId ?? null,
          created_at: iso(now - 100 * DAY),
          updated_at: iso(at),
        });
      }
      await k.transaction(async (trx) => {
        await bulk(trx, dialect, 'contacts', contacts);
        await bulk(trx, dialect, 'messages', messages, rawExtra);
        await bulk(trx, dialect, 'bounces', bounces);
        await bulk(trx, dialect, 'suppressions', suppressions);
        await bulk(trx, dialect, 'contact_events', events);
        await bulk(trx, dialect, 'sends', sends);
      });
      o.onProgress?.(end);
    }
  } finally {
    if (dialect === 'sqlite') await k.raw('PRAGMA synchronous=FULL');
  }
}

/**
 * What the send pipeline would have done before a campaign: the campaigns, and the contacts
 * with a send of each campaign (`recordSends`), all active.
 */
export async function registerSends(db: Database, emails: readonly string[], campaigns: readonly string[]): Promise<void> {
  const k = db.knex;
  const at = new Date(Date.now() - 3 * 3600_000).toISOString();
  let contactId = await maxId(k, 'contacts');
  const contacts = emails.map((email) => ({ id: ++contactId, email, email_key: contactKey(email), state: 'active', soft_campaigns: '[]', complained: false, bounced_at: null, bounced_reason: null, bounce_id: null, created_at: at, updated_at: at }));
  await k.transaction(async (trx) => {
    await bulk(trx, db.dialect, 'campaigns', campaigns.map((id) => ({ id, name: id, automation_id: null, created_at: at })));
    await bulk(trx, db.dialect, 'contacts', contacts);
    await bulk(
      trx,
      db.dialect,
      'sends',
      campaigns.flatMap((c) => contacts.map((ct) => ({ campaign_id: c, contact_id: ct.id, sent_at: at, message_id: `${ct.id}.${c}@news.bench.example` }))),
    );
  });
}

/**
 * Leaves the database as a running receiver would find it: SQLite's write-ahead log
 * checkpointed into the file (so the receiver does not do it during the measurement);
 * PostgreSQL's sequences moved past the explicit ids, and VACUUM ANALYZE (what autovacuum would
 * have done by then).
 */
export async function settle(db: Database): Promise<void> {
  const k = db.knex;
  if (db.dialect === 'sqlite') {
    await k.raw('PRAGMA wal_checkpoint(TRUNCATE)');
    return;
  }
  for (const table of ['contacts', 'messages', 'bounces', 'contact_events']) {
    await k.raw(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT max(id) FROM "${table}"), 1))`);
  }
  await k.raw('VACUUM ANALYZE');
}

/** Bytes the database takes on disk (SQLite: file and write-ahead log). */
export async function databaseBytes(db: Database, sqliteFile?: string): Promise<number | null> {
  if (db.dialect === 'sqlite') {
    if (!sqliteFile) return null;
    const { statSync, existsSync } = await import('node:fs');
    return [sqliteFile, `${sqliteFile}-wal`].filter((f) => existsSync(f)).reduce((n, f) => n + statSync(f).size, 0);
  }
  const row = (await db.knex.raw('SELECT pg_database_size(current_database()) AS n')) as { rows: Array<{ n: string }> };
  return Number(row.rows[0]?.n ?? 0);
}
