import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { errorText, type Logger } from '../logger.js';
import { fitted } from './columns.js';
import { ADVISORY_LOCK, type Database } from './db.js';
import type { ContactRecord, Repositories, UnitOfWork } from './repositories.js';
import { iso, normaliseMessageId, toContact, type ContactRow } from './rows.js';
import { PgPendingWrites } from './pg-pending.js';
import { sqliteTransaction } from './sqlite-repositories.js';


/**
 * The knex implementation of the repositories.
 *
 * Concurrency on PostgreSQL, where several receivers write to one database at once. Every
 * read-modify-write of a contact (the soft-bounce row, the move to `bounced`, its suppression
 * and audit lines) happens while the transaction holds that contact:
 *
 * - `lockKeys` takes a transaction-scoped advisory lock per contact key, in ascending order of
 *   lock id, before anything else touches contacts. An advisory lock is used rather than a row
 *   lock because it also covers a contact that does not exist yet: two receivers that both see
 *   a new contact's first bounces create it one after the other, and the second sees the
 *   first's changes. Taking all of a batch's keys up front in one global order is what keeps
 *   group-commit batches from deadlocking: two batches naming the same contacts in different
 *   orders simply queue.
 * - the contact rows are then read with `SELECT ... FOR NO KEY UPDATE`, which also stops any
 *   writer that does not take the advisory lock (an operator's command, the send pipeline's
 *   SQL) from changing them underneath, while letting rows that only refer to the contact (a
 *   send, for instance) be inserted. A transaction that locks several contacts outside ingest
 *   should call `lockKeys` first, for the same global order. Under READ COMMITTED each statement reads the latest committed
 *   state, so once the lock is held the read is current: no update can be lost.
 * - rows that may be created by two receivers at once are inserted with
 *   `INSERT ... ON CONFLICT DO NOTHING` (messages by fingerprint, campaigns, contacts,
 *   suppressions), so a race costs a wait, never an error; counters are incremented in SQL
 *   (`duplicates = duplicates + 1`), never read and written back.
 *
 * Transactions run at READ COMMITTED whatever the server's default: SERIALIZABLE would add
 * serialisation failures (and retries) to conflicts the locks already order. SQLite has a
 * single writer, which gives the same guarantees; `lockKeys` is a no-op there.
 */
export function repositoriesFor(trx: Knex | Knex.Transaction, dialect: Database['dialect'], pending?: PgPendingWrites): Repositories {
  // FOR NO KEY UPDATE: excludes every other writer of the row, but not the foreign-key checks of
  // rows that merely refer to it (a send recorded for this contact does not wait, nor deadlock).
  const lock = <T extends Knex.QueryBuilder>(q: T): T => (dialect === 'pg' ? (q.forNoKeyUpdate() as T) : q);
  // What this transaction knows, to save statements: the campaigns it made sure exist, and the
  // contacts of the keys it has locked (read, and row-locked, once; kept current with the
  // contacts it creates and updates, which nobody else can change before it ends).
  const campaignsKnown = new Set<string>();
  const contactsByKey = new Map<string, ContactRecord[]>();
  /** Reads that the cache does not answer see the database: anything queued is written first. */
  const current = async () => {
    if (pending && !pending.empty) await pending.flush();
  };

  return {
    messages: {
      async expect() {
        // The unique index on the fingerprint arbitrates at insert time.
      },
      async insertIfNew(m) {
        const rows: Array<{ id: number | string }> = await trx('messages')
          .insert({
            fingerprint: m.fingerprint,
            received_at: m.receivedAt,
            transport: m.transport,
            mail_from: m.mailFrom,
            rcpt_to: JSON.stringify(m.rcptTo),
            remote_address: m.remoteAddress,
            helo: m.helo,
            size: m.size,
            raw: m.raw,
            kind: m.kind,
            format: m.format,
            status: m.status,
            problems: m.problems.length > 0 ? JSON.stringify(m.problems) : null,
            header_message_id: m.headerMessageId,
            campaign_id: m.campaignId,
            contact_key: m.contactKey,
          })
          .onConflict('fingerprint')
          .ignore()
          .returning('id');
        return rows[0] ? Number(rows[0].id) : null;
      },
      async recordDuplicate(fingerprint, at) {
        await trx('messages').where({ fingerprint }).update({ duplicates: trx.raw('duplicates + 1'), last_duplicate_at: at });
        const row: { id: number | string } | undefined = await trx('messages').where({ fingerprint }).first('id');
        return row ? Number(row.id) : null;
      },
      async setStatus(id, status) {
        await trx('messages').where({ id }).update({ status });
      },
    },

    campaigns: {
      async ensure(id, at) {
        if (campaignsKnown.has(id)) return;
        await trx('campaigns').insert({ id, name: null, automation_id: null, created_at: at }).onConflict('id').ignore();
        campaignsKnown.add(id);
      },
      async ensureAll(campaigns) {
        // One statement; its rows are inserted (and any wait on a campaign another transaction
        // is creating happens) in id order, like every transaction's.
        const first = new Map<string, string>();
        for (const c of campaigns) if (!first.has(c.id) || c.at < first.get(c.id)!) first.set(c.id, c.at);
        const rows = [...first].map(([id, at]) => ({ id, at })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        if (rows.length === 0) return;
        await trx('campaigns')
          .insert(rows.map((c) => ({ id: c.id, name: null, automation_id: null, created_at: c.at })))
          .onConflict('id')
          .ignore();
        for (const c of rows) campaignsKnown.add(c.id);
      },
    },

    contacts: {
      async lockKeys(keys) {
        if (dialect !== 'pg' || keys.length === 0) return;
        const ids = [...new Set(keys.map(lockIdOfKey))].sort((a, b) => a - b);
        // The sorted subquery (kept apart by OFFSET 0) feeds the volatile lock function row by
        // row, so the locks are taken in ascending order.
        await trx.raw('SELECT count(pg_advisory_xact_lock(?, k)) FROM (SELECT k FROM unnest(?::int4[]) AS t(k) ORDER BY k OFFSET 0) AS ordered', [ADVISORY_LOCK.CONTACT_KEY, ids]);
        // The keys' contacts, row-locked in one statement rather than one per message.
        const missing = [...new Set(keys)].filter((k) => !contactsByKey.has(k));
        if (missing.length === 0) return;
        const rows: ContactRow[] = await lock(trx('contacts').whereIn('email_key', missing).orderBy('id'));
        for (const k of missing) contactsByKey.set(k, []);
        for (const row of rows) contactsByKey.get(row.email_key)?.push(toContact(row));
      },
      async lockByKey(key) {
        const known = contactsByKey.get(key);
        if (known) return [...known];
        await current();
        const rows: ContactRow[] = await lock(trx('contacts').where({ email_key: key }).orderBy('id'));
        return rows.map(toContact);
      },
      async lockByEmail(email) {
        await current();
        const row: ContactRow | undefined = await lock(trx('contacts').where({ email }).first());
        return row ? toContact(row) : null;
      },
      async findById(id) {
        await current();
        const row: ContactRow | undefined = await trx('contacts').where({ id }).first();
        return row ? toContact(row) : null;
      },
      async ensure(email, key, at): Promise<ContactRecord> {
        const created: ContactRow[] = await trx('contacts')
          .insert({ email, email_key: key, state: 'active', soft_campaigns: '[]', complained: false, created_at: at, updated_at: at })
          .onConflict('email')
          .ignore()
          .returning('*');
        // Not created: it exists, and may have a queued update unless its key is known empty.
        if (!created[0] && contactsByKey.get(key)?.length !== 0) await current();
        const row: ContactRow | undefined = created[0] ?? (await lock(trx('contacts').where({ email }).first()));
        if (!row) throw new Error(`contact ${email} vanished during its transaction`);
        const contact = toContact(row);
        const known = contactsByKey.get(contact.emailKey);
        if (known && !known.some((c) => c.id === contact.id)) known.push(contact);
        return contact;
      },
      async update(id, u) {
        if (pending) pending.updateContact(id, [u.state, JSON.stringify(u.softCampaigns), u.complained, u.bouncedAt, u.bouncedReason, u.bounceId, u.updatedAt]);
        else await trx('contacts').where({ id }).update({
          state: u.state,
          soft_campaigns: JSON.stringify(u.softCampaigns),
          complained: u.complained,
          bounced_at: u.bouncedAt,
          bounced_reason: u.bouncedReason,
          bounce_id: u.bounceId,
          updated_at: u.updatedAt,
        });
        for (const list of contactsByKey.values()) {
          const i = list.findIndex((c) => c.id === id);
          if (i >= 0) list[i] = { ...list[i]!, ...u, softCampaigns: [...u.softCampaigns] };
        }
      },
    },

    sends: {
      async record(send) {
        await trx('sends')
          .insert({ campaign_id: send.campaignId, contact_id: send.contactId, sent_at: send.sentAt, message_id: normaliseMessageId(send.messageId) })
          .onConflict(['campaign_id', 'contact_id'])
          .ignore();
      },
      async findByMessageId(messageId) {
        const id = normaliseMessageId(messageId);
        if (!id) return null;
        const row: { campaign_id: string; contact_id: number; sent_at: string | Date; message_id: string | null } | undefined = await trx('sends').where({ message_id: id }).first();
        return row ? { campaignId: row.campaign_id, contactId: Number(row.contact_id), sentAt: iso(row.sent_at)!, messageId: row.message_id } : null;
      },
    },

    bounces: {
      async insert(b) {
        const row = {
          message_id: b.messageId,
          campaign_id: b.campaignId,
          contact_id: b.contactId,
          recipient: b.recipient,
          kind: b.kind,
          action: b.action,
          status_code: b.statusCode,
          status_source: b.statusSource,
          type: b.type,
          description: b.description,
          diagnostic: b.diagnostic,
          remote_mta: b.remoteMta,
          reporting_mta: b.reportingMta,
          counted: b.counted,
          received_at: b.receivedAt,
        };
        if (pending) return pending.insertBounce(row);
        const rows: Array<{ id: number | string }> = await trx('bounces').insert(row).returning('id');
        return Number(rows[0]!.id);
      },
    },

    suppressions: {
      async add(contactId, email, reason, bounceId, at) {
        if (pending) return pending.addSuppression({ contact_id: contactId, email, reason, bounce_id: bounceId, created_at: at });
        await trx('suppressions')
          .insert({ contact_id: contactId, email, reason, bounce_id: bounceId, created_at: at })
          .onConflict(['contact_id', 'reason'])
          .ignore();
      },
      async remove(contactId, reasons) {
        await current();
        return trx('suppressions').where({ contact_id: contactId }).whereIn('reason', [...reasons]).delete();
      },
    },

    events: {
      async insert(e) {
        const row = {
          contact_id: e.contactId,
          at: e.at,
          event: e.event,
          from_state: e.fromState,
          to_state: e.toState,
          actor: e.actor,
          detail: e.detail,
          bounce_id: e.bounceId,
        };
        if (pending) pending.addEvent(row);
        else await trx('contact_events').insert(row);
      },
    },
  };
}

/** The advisory lock id of a contact key: 32 bits of its SHA-256 (two keys may share one: harmless). */
export function lockIdOfKey(key: string): number {
  return createHash('sha256').update(key).digest().readInt32BE(0);
}

export interface UnitOfWorkOptions {
  /** Where retries are logged (`DB_RETRY`). */
  readonly logger?: Logger;
  /** Attempts per transaction when it loses a deadlock or a serialisation conflict (default 5). */
  readonly maxAttempts?: number;
}

/**
 * Transactions over a database, retried when retrying is safe:
 *
 * - a deadlock victim or a serialisation failure (PostgreSQL), a busy database (SQLite): the
 *   transaction was rolled back entirely, so running it again from the start counts nothing
 *   twice. Up to `maxAttempts` attempts, with a growing, jittered pause between them. On
 *   SQLite all the attempts together wait for the lock at most the busy timeout, counted from
 *   when the work was handed in (`since`), so a message that queued meanwhile waits no longer.
 * - a connection that died before COMMIT was sent (a PostgreSQL restart, a terminated backend):
 *   the server rolled the transaction back; it is run once more on a new connection.
 *
 * A connection lost during COMMIT is never retried here: whether the commit happened is
 * unknown. The caller answers 451, the remote server sends the message again, and the message
 * fingerprint recognises it if the first commit did happen.
 */
export function unitOfWork(db: Database, options: UnitOfWorkOptions = {}): UnitOfWork {
  const log = options.logger?.child('storage');
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const busyMs = Math.max(0, db.options.busyTimeoutMs ?? 5000);
  const config: Knex.TransactionConfig | undefined = db.dialect === 'pg' ? { isolationLevel: 'read committed' } : undefined;
  return {
    async transaction(work, options) {
      let reconnected = false;
      // SQLite: the lock is waited for until one deadline, however many attempts that takes.
      const deadline = (options?.since ?? Date.now()) + busyMs;
      for (let attempt = 1; ; attempt++) {
        let bodyDone = false;
        try {
          const body = async (repos: Repositories, flush?: () => Promise<void>) => {
            // Every value written is made storable first (columns.ts).
            const result = await work(fitted(repos));
            await flush?.();
            bodyDone = true;
            return result;
          };
          // SQLite: prepared statements on the connection, without the query builder (the
          // ingest hot path); PostgreSQL: knex.
          if (db.dialect === 'sqlite') return await sqliteTransaction(db, body, deadline);
          return await db.knex.transaction(async (trx) => {
            // New rows are queued and written in a few statements at the end (pg-pending.ts);
            // written before bodyDone, so that a connection lost meanwhile retries the whole.
            const pending = new PgPendingWrites(trx);
            return body(repositoriesFor(trx, db.dialect, pending), () => pending.flush());
          }, config);
        } catch (err) {
          const conflict = isRetryable(err) && !(db.dialect === 'sqlite' && Date.now() >= deadline);
          const lost = !conflict && !bodyDone && !reconnected && isConnectionLost(err);
          if (!(conflict && attempt < maxAttempts) && !lost) throw err;
          if (lost) reconnected = true;
          const delayMs = lost ? 50 : Math.round(Math.min(1000, 20 * 2 ** (attempt - 1)) * (0.5 + Math.random()));
          log?.log('warn', 'DB_RETRY', lost ? 'connection lost before commit; running the transaction again on a new connection' : 'transaction lost a conflict and was rolled back; running it again', {
            attempt,
            maxAttempts,
            errorCode: (err as { code?: string }).code ?? null,
            error: errorText(err),
            delayMs,
          });
          await new Promise((r) => setTimeout(r, delayMs));
        }
      }
    },
  };
}

/** PostgreSQL serialization_failure and deadlock_detected; SQLite busy. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '40001' || code === '40P01' || code === 'SQLITE_BUSY';
}

/** The connection to PostgreSQL was closed under the transaction (restart, failover, terminated). */
export function isConnectionLost(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (/^(57P01|57P02|57P03|08000|08003|08006|ECONNRESET|EPIPE)$/.test(code)) return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection/i.test(e.message ?? '');
}
