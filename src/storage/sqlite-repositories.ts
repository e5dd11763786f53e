import type { Database as SqliteDatabase } from 'sqlite3';
import type { Database } from './db.js';
import type { ContactRecord, Repositories } from './repositories.js';
import { iso, normaliseMessageId, toContact, type ContactRow } from './rows.js';
import { statementsOf, type Statements } from './sqlite-statements.js';

/**
 * The repositories on SQLite without the query builder: the same statements as
 * `knex-repositories.ts` (same columns, same values, same conflict handling), written out once
 * and kept prepared on the connection. This is the ingest hot path; everything else (reports,
 * operator commands, replay) keeps using knex. SQLite has a single writer, so no row or
 * advisory locks are needed: the transaction below starts with `BEGIN IMMEDIATE`, which takes
 * the write lock up front (waiting up to the busy timeout for another process), and holds it
 * to the end.
 */

const MESSAGE_COLUMNS = ['fingerprint', 'received_at', 'transport', 'mail_from', 'rcpt_to', 'remote_address', 'helo', 'size', 'raw', 'kind', 'format', 'status', 'problems', 'header_message_id', 'campaign_id', 'contact_key'];
const BOUNCE_COLUMNS = ['message_id', 'campaign_id', 'contact_id', 'recipient', 'kind', 'action', 'status_code', 'status_source', 'type', 'description', 'diagnostic', 'remote_mta', 'reporting_mta', 'counted', 'received_at'];
const EVENT_COLUMNS = ['contact_id', 'at', 'event', 'from_state', 'to_state', 'actor', 'detail', 'bounce_id'];

const insertSql = (table: string, columns: readonly string[], rows = 1, tail = '') => {
  const one = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => one).join(', ')}${tail}`;
};

const SQL = {
  insertMessage: insertSql('messages', MESSAGE_COLUMNS, 1, ' ON CONFLICT (fingerprint) DO NOTHING'),
  countDuplicate: 'UPDATE messages SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE fingerprint = ?',
  messageByFingerprint: 'SELECT id FROM messages WHERE fingerprint = ? LIMIT 1',
  setStatus: 'UPDATE messages SET status = ? WHERE id = ?',
  ensureCampaign: 'INSERT INTO campaigns (id, name, automation_id, created_at) VALUES (?, NULL, NULL, ?) ON CONFLICT (id) DO NOTHING',
  contactsByKey: 'SELECT * FROM contacts WHERE email_key = ? ORDER BY id',
  contactByEmail: 'SELECT * FROM contacts WHERE email = ? LIMIT 1',
  contactById: 'SELECT * FROM contacts WHERE id = ? LIMIT 1',
  ensureContact: "INSERT INTO contacts (email, email_key, state, soft_campaigns, complained, created_at, updated_at) VALUES (?, ?, 'active', '[]', 0, ?, ?) ON CONFLICT (email) DO NOTHING",
  updateContact: 'UPDATE contacts SET state = ?, soft_campaigns = ?, complained = ?, bounced_at = ?, bounced_reason = ?, bounce_id = ?, updated_at = ? WHERE id = ?',
  recordSend: 'INSERT INTO sends (campaign_id, contact_id, sent_at, message_id) VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, contact_id) DO NOTHING',
  sendByMessageId: 'SELECT campaign_id, contact_id, sent_at, message_id FROM sends WHERE message_id = ? LIMIT 1',
  insertBounce: insertSql('bounces', BOUNCE_COLUMNS),
  addSuppression: 'INSERT INTO suppressions (contact_id, email, reason, bounce_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (contact_id, reason) DO NOTHING',
  insertEvent: insertSql('contact_events', EVENT_COLUMNS),
} as const;

export function sqliteRepositories(s: Statements): Repositories {
  const one = async (sql: string, params: Array<string | number | null>): Promise<ContactRecord | null> => {
    const rows = await s.all<ContactRow>(sql, params);
    return rows[0] ? toContact(rows[0]) : null;
  };
  return {
    messages: {
      async insertIfNew(m) {
        const r = await s.run(SQL.insertMessage, [
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
        return r.changes > 0 ? r.lastID : null;
      },
      async recordDuplicate(fingerprint, at) {
        await s.run(SQL.countDuplicate, [at, fingerprint]);
        const rows = await s.all<{ id: number }>(SQL.messageByFingerprint, [fingerprint]);
        return rows[0] ? Number(rows[0].id) : null;
      },
      async setStatus(id, status) {
        await s.run(SQL.setStatus, [status, id]);
      },
    },

    campaigns: {
      async ensure(id, at) {
        await s.run(SQL.ensureCampaign, [id, at]);
      },
      async ensureAll(campaigns) {
        const first = new Map<string, string>();
        for (const c of campaigns) if (!first.has(c.id) || c.at < first.get(c.id)!) first.set(c.id, c.at);
        if (first.size === 0) return;
        // In id order, like the PostgreSQL path (row ids then follow the same order on both).
        const params = [...first].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
        await s.run(`INSERT INTO campaigns (id, name, automation_id, created_at) VALUES ${Array.from(first, () => '(?, NULL, NULL, ?)').join(', ')} ON CONFLICT (id) DO NOTHING`, params);
      },
    },

    contacts: {
      async lockKeys() {
        // The transaction already holds SQLite's only write lock.
      },
      async lockByKey(key) {
        const rows = await s.all<ContactRow>(SQL.contactsByKey, [key]);
        return rows.map(toContact);
      },
      lockByEmail: (email) => one(SQL.contactByEmail, [email]),
      findById: (id) => one(SQL.contactById, [id]),
      async ensure(email, key, at) {
        await s.run(SQL.ensureContact, [email, key, at, at]);
        const contact = await one(SQL.contactByEmail, [email]);
        if (!contact) throw new Error(`contact ${email} vanished during its transaction`);
        return contact;
      },
      async update(id, u) {
        await s.run(SQL.updateContact, [u.state, JSON.stringify(u.softCampaigns), u.complained ? 1 : 0, u.bouncedAt, u.bouncedReason, u.bounceId, u.updatedAt, id]);
      },
    },

    sends: {
      async record(send) {
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
      async insert(b) {
        const r = await s.run(SQL.insertBounce, [
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
        return r.lastID;
      },
    },

    suppressions: {
      async add(contactId, email, reason, bounceId, at) {
        await s.run(SQL.addSuppression, [contactId, email, reason, bounceId, at]);
      },
      async remove(contactId, reasons) {
        if (reasons.length === 0) return 0;
        const r = await s.run(`DELETE FROM suppressions WHERE contact_id = ? AND reason IN (${reasons.map(() => '?').join(', ')})`, [contactId, ...reasons]);
        return r.changes;
      },
    },

    events: {
      async insert(e) {
        await s.run(SQL.insertEvent, [e.contactId, e.at, e.event, e.fromState, e.toState, e.actor, e.detail, e.bounceId]);
      },
    },
  };
}

/**
 * Runs `work` in one SQLite transaction on the pool's connection (the pool holds one: other
 * users of the database wait for it, as they would for a knex transaction). On any failure the
 * transaction is rolled back and the error rethrown, for the caller to retry or report.
 */
export async function sqliteTransaction<T>(db: Database, work: (repos: Repositories) => Promise<T>): Promise<T> {
  const client = db.knex.client;
  const conn = (await client.acquireConnection()) as SqliteDatabase;
  try {
    const s = statementsOf(conn);
    await s.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(sqliteRepositories(s));
      await s.exec('COMMIT');
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
