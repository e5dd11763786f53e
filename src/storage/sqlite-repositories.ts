import type { Database as SqliteDatabase } from 'sqlite3';
import { contactKey } from '../domain/verp.js';
import type { Database } from './db.js';
import type { ContactRecord, Repositories } from './repositories.js';
import { iso, normaliseMessageId, toContact, type ContactRow } from './rows.js';
import { chunks, PendingWrites } from './sqlite-pending.js';
import { statementsOf, type Statements } from './sqlite-statements.js';

/**
 * The repositories on SQLite without the query builder: the statements of
 * `knex-repositories.ts` (same columns, same values, same conflict handling), written out once
 * and kept prepared on the connection, and new rows queued to be written in a few multi-row
 * statements before COMMIT (`PendingWrites`). This is the ingest hot path; everything else
 * (reports, operator commands, replay) keeps using knex. SQLite has a single writer, so no row
 * or advisory locks are needed: the transaction starts with `BEGIN IMMEDIATE`, which takes the
 * write lock up front (waiting up to the busy timeout for another process) and holds it to the
 * end. A test runs every call through both implementations and compares the rows.
 */

/** Contact keys or fingerprints read per statement (well under SQLite's limit on bound values). */
const KEYS_PER_READ = 500;

const SQL = {
  countDuplicate: 'UPDATE messages SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE fingerprint = ?',
  messageByFingerprint: 'SELECT id FROM messages WHERE fingerprint = ? LIMIT 1',
  setStatus: 'UPDATE messages SET status = ? WHERE id = ?',
  contactsByKey: 'SELECT * FROM contacts WHERE email_key = ? ORDER BY id',
  contactByEmail: 'SELECT * FROM contacts WHERE email = ? LIMIT 1',
  contactById: 'SELECT * FROM contacts WHERE id = ? LIMIT 1',
  ensureContact: "INSERT INTO contacts (email, email_key, state, soft_campaigns, complained, created_at, updated_at) VALUES (?, ?, 'active', '[]', 0, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING *",
  recordSend: 'INSERT INTO sends (campaign_id, contact_id, sent_at, message_id) VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, contact_id) DO NOTHING',
  sendByMessageId: 'SELECT campaign_id, contact_id, sent_at, message_id FROM sends WHERE message_id = ? LIMIT 1',
} as const;

/** The repositories of one transaction, and what it has queued (see `PendingWrites`). */
export function sqliteRepositories(s: Statements): { repos: Repositories; pending: PendingWrites } {
  const pending = new PendingWrites(s);
  // What this transaction has learnt, to save statements (it is the only writer until it ends,
  // and every change it makes to these rows goes through here): the campaigns known to exist,
  // and the contacts of each key read so far, kept current with the contacts it creates and updates.
  // Likewise the messages known to be stored (or queued), by fingerprint.
  const campaignsKnown = new Set<string>();
  const contactsByKey = new Map<string, ContactRecord[]>();
  const messageIds = new Map<string, number | null>();
  /** Reads see the database; anything queued is written first. */
  const current = async () => {
    if (!pending.empty) await pending.flush();
  };
  const one = async (sql: string, params: Array<string | number | null>): Promise<ContactRecord | null> => {
    await current();
    const rows = await s.all<ContactRow>(sql, params);
    return rows[0] ? toContact(rows[0]) : null;
  };
  const repos: Repositories = {
    messages: {
      async expect(fingerprints) {
        const missing = [...new Set(fingerprints)].filter((f) => !messageIds.has(f));
        const read = async (chunk: string[]) => {
          const rows = await s.all<{ id: number; fingerprint: string }>(`SELECT id, fingerprint FROM messages WHERE fingerprint IN (${chunk.map(() => '?').join(', ')})`, chunk);
          for (const f of chunk) messageIds.set(f, null);
          for (const row of rows) messageIds.set(row.fingerprint, Number(row.id));
        };
        // Sent together, with the read of the id sequences the new messages will need: each trip
        // to SQLite waits for the event loop on its way back, and these can share one wait.
        await Promise.all([...chunks(missing, KEYS_PER_READ).map(read), ...(missing.length > 0 ? [pending.ready()] : [])]);
      },
      async insertIfNew(m) {
        if (!messageIds.has(m.fingerprint)) await repos.messages.expect([m.fingerprint]);
        if (messageIds.get(m.fingerprint) != null) return null;
        const id = await pending.insert('messages', [
          m.fingerprint,
          m.receivedAt,
          m.transport,
          m.mailFrom,
          JSON.stringify(m.rcptTo),
          m.remoteAddress,
          m.helo,
          m.size,
          m.raw,
          m.kind,
          m.format,
          m.status,
          m.problems.length > 0 ? JSON.stringify(m.problems) : null,
          m.headerMessageId,
          m.campaignId,
          m.contactKey,
        ]);
        messageIds.set(m.fingerprint, id);
        return id;
      },
      async recordDuplicate(fingerprint, at) {
        await current();
        await s.run(SQL.countDuplicate, [at, fingerprint]);
        const rows = await s.all<{ id: number }>(SQL.messageByFingerprint, [fingerprint]);
        return rows[0] ? Number(rows[0].id) : null;
      },
      async setStatus(id, status) {
        if (pending.setMessageStatus(id, status)) return;
        await s.run(SQL.setStatus, [status, id]);
      },
    },

    campaigns: {
      async ensure(id, at) {
        if (campaignsKnown.has(id)) return;
        pending.add('campaigns', [id, null, null, at]);
        campaignsKnown.add(id);
      },
      async ensureAll(campaigns) {
        const first = new Map<string, string>();
        for (const c of campaigns) if (!first.has(c.id) || c.at < first.get(c.id)!) first.set(c.id, c.at);
        // In id order, like the PostgreSQL path (row ids then follow the same order on both).
        for (const [id, at] of [...first].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) await repos.campaigns.ensure(id, at);
      },
    },

    contacts: {
      async lockKeys(keys) {
        // Nothing to lock: the transaction holds SQLite's only write lock. The contacts of the
        // keys are read in one statement instead of one per message.
        const missing = [...new Set(keys)].filter((k) => !contactsByKey.has(k));
        const read = async (chunk: string[]) => {
          const rows = await s.all<ContactRow>(`SELECT * FROM contacts WHERE email_key IN (${chunk.map(() => '?').join(', ')}) ORDER BY id`, chunk);
          for (const k of chunk) contactsByKey.set(k, []);
          for (const row of rows) contactsByKey.get(row.email_key)?.push(toContact(row));
        };
        await Promise.all(chunks(missing, KEYS_PER_READ).map(read));
      },
      async lockByKey(key) {
        let known = contactsByKey.get(key);
        if (!known) {
          await current();
          known = (await s.all<ContactRow>(SQL.contactsByKey, [key])).map(toContact);
          contactsByKey.set(key, known);
        }
        return [...known];
      },
      lockByEmail: (email) => one(SQL.contactByEmail, [email]),
      findById: (id) => one(SQL.contactById, [id]),
      async ensure(email, key, at) {
        // No contact has this key, and so none has this address (every contact's key is made
        // from its address): the new one is queued, with its id, like the other new rows.
        if (contactsByKey.get(key)?.length === 0 && contactKey(email) === key) {
          const id = await pending.insert('contacts', [email, key, 'active', '[]', 0, at, at]);
          const contact: ContactRecord = { id, email, emailKey: key, state: 'active', softCampaigns: [], complained: false, bouncedAt: null, bouncedReason: null, bounceId: null, createdAt: iso(at)!, updatedAt: iso(at)! };
          contactsByKey.get(key)!.push(contact);
          return contact;
        }
        await current();
        const created = await s.all<ContactRow>(SQL.ensureContact, [email, key, at, at]);
        if (created[0]) {
          const contact = toContact(created[0]);
          contactsByKey.get(contact.emailKey)?.push(contact);
          return contact;
        }
        const contact = await one(SQL.contactByEmail, [email]);
        if (!contact) throw new Error(`contact ${email} vanished during its transaction`);
        return contact;
      },
      async update(id, u) {
        pending.updateContact(id, [u.state, JSON.stringify(u.softCampaigns), u.complained ? 1 : 0, u.bouncedAt, u.bouncedReason, u.bounceId, u.updatedAt]);
        for (const list of contactsByKey.values()) {
          const i = list.findIndex((c) => c.id === id);
          if (i >= 0) list[i] = { ...list[i]!, ...u, softCampaigns: [...u.softCampaigns] };
        }
      },
    },

    sends: {
      async record(send) {
        await current(); // its contact or campaign may be queued
        await s.run(SQL.recordSend, [send.campaignId, send.contactId, send.sentAt, normaliseMessageId(send.messageId)]);
      },
      async findByMessageId(messageId) {
        const id = normaliseMessageId(messageId);
        if (!id) return null;
        const rows = await s.all<{ campaign_id: string; contact_id: number; sent_at: string; message_id: string | null }>(SQL.sendByMessageId, [id]);
        const row = rows[0];
        return row ? { campaignId: row.campaign_id, contactId: Number(row.contact_id), sentAt: iso(row.sent_at)!, messageId: row.message_id } : null;
      },
    },

    bounces: {
      insert(b) {
        return pending.insert('bounces', [
          b.messageId,
          b.campaignId,
          b.contactId,
          b.recipient,
          b.kind,
          b.action,
          b.statusCode,
          b.statusSource,
          b.type,
          b.description,
          b.diagnostic,
          b.remoteMta,
          b.reportingMta,
          b.counted ? 1 : 0,
          b.receivedAt,
        ]);
      },
    },

    suppressions: {
      async add(contactId, email, reason, bounceId, at) {
        pending.add('suppressions', [contactId, email, reason, bounceId, at]);
      },
      async remove(contactId, reasons) {
        if (reasons.length === 0) return 0;
        await current();
        const r = await s.run(`DELETE FROM suppressions WHERE contact_id = ? AND reason IN (${reasons.map(() => '?').join(', ')})`, [contactId, ...reasons]);
        return r.changes;
      },
    },

    events: {
      async insert(e) {
        await pending.insert('contact_events', [e.contactId, e.at, e.event, e.fromState, e.toState, e.actor, e.detail, e.bounceId]);
      },
    },
  };
  return { repos, pending };
}

/**
 * `BEGIN IMMEDIATE`, waiting for another process's write lock about `waitMs` at most (never more
 * than the busy timeout, the connection's setting). A wait shorter than the setting by a second
 * or more sets the timeout for this one statement; a shorter cut is not worth the two extra
 * statements, so the wait may pass its deadline by up to a second.
 */
async function begin(s: Statements, busyMs: number, waitMs: number): Promise<void> {
  const wait = Math.max(0, Math.floor(waitMs));
  if (wait >= busyMs - 1000) return s.exec('BEGIN IMMEDIATE');
  await s.exec(`PRAGMA busy_timeout=${wait}`);
  try {
    await s.exec('BEGIN IMMEDIATE');
  } finally {
    await s.exec(`PRAGMA busy_timeout=${busyMs}`);
  }
}

/**
 * Runs `work` in one SQLite transaction on the pool's connection (the pool holds one: other
 * users of the database wait for it, as they would for a knex transaction), waiting for the
 * write lock until `deadline` (epoch ms) at most. On any failure the
 * transaction is rolled back and the error rethrown, for the caller to retry or report.
 */
export async function sqliteTransaction<T>(db: Database, work: (repos: Repositories) => Promise<T>, deadline = Number.POSITIVE_INFINITY): Promise<T> {
  const client = db.knex.client;
  const conn = (await client.acquireConnection()) as SqliteDatabase;
  try {
    const s = statementsOf(conn);
    // The wait for the connection (another user of it may be waiting for the lock) counts too.
    await begin(s, Math.max(0, db.options.busyTimeoutMs ?? 5000), deadline - Date.now());
    try {
      const { repos, pending } = sqliteRepositories(s);
      const result = await work(repos);
      await pending.flushAndCommit();
      return result;
    } catch (err) {
      // After a failed COMMIT SQLite may already have rolled back; nothing to undo then.
      await s.exec('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    await client.releaseConnection(conn);
  }
}
