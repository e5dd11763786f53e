import type { Knex } from 'knex';
import type { Database } from './db.js';
import type { ContactRecord, Repositories, UnitOfWork } from './repositories.js';
import { iso, toContact, type ContactRow } from './rows.js';

/** `<id@host>` and `id@host` are the same Message-ID; stored without brackets, lowercased. */
export function normaliseMessageId(value: string | null | undefined): string | null {
  const v = value?.trim().replace(/^<|>$/g, '').trim().toLowerCase();
  return v ? v : null;
}

/**
 * The knex implementation of the repositories. Concurrency: on PostgreSQL a contact row is
 * locked (`SELECT ... FOR UPDATE`) before its state is read, so two receivers handling bounces
 * for the same contact serialise on that row and neither update is lost; new rows are created
 * with `INSERT ... ON CONFLICT DO NOTHING` so that a race never fails a transaction. SQLite
 * has a single writer, which gives the same guarantee.
 */
export function repositoriesFor(trx: Knex | Knex.Transaction, dialect: Database['dialect']): Repositories {
  const lock = <T extends Knex.QueryBuilder>(q: T): T => (dialect === 'pg' ? (q.forUpdate() as T) : q);

  return {
    messages: {
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
        await trx('campaigns').insert({ id, name: null, automation_id: null, created_at: at }).onConflict('id').ignore();
      },
    },

    contacts: {
      async lockByKey(key) {
        const rows: ContactRow[] = await lock(trx('contacts').where({ email_key: key }).orderBy('id'));
        return rows.map(toContact);
      },
      async lockByEmail(email) {
        const row: ContactRow | undefined = await lock(trx('contacts').where({ email }).first());
        return row ? toContact(row) : null;
      },
      async lockById(id) {
        const row: ContactRow | undefined = await lock(trx('contacts').where({ id }).first());
        return row ? toContact(row) : null;
      },
      async ensure(email, key, at): Promise<ContactRecord> {
        await trx('contacts')
          .insert({ email, email_key: key, state: 'active', soft_campaigns: '[]', complained: false, created_at: at, updated_at: at })
          .onConflict('email')
          .ignore();
        const row: ContactRow | undefined = await lock(trx('contacts').where({ email }).first());
        if (!row) throw new Error(`contact ${email} vanished during its transaction`);
        return toContact(row);
      },
      async update(id, u) {
        await trx('contacts').where({ id }).update({
          state: u.state,
          soft_campaigns: JSON.stringify(u.softCampaigns),
          complained: u.complained,
          bounced_at: u.bouncedAt,
          bounced_reason: u.bouncedReason,
          bounce_id: u.bounceId,
          updated_at: u.updatedAt,
        });
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
        const rows: Array<{ id: number | string }> = await trx('bounces')
          .insert({
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
          })
          .returning('id');
        return Number(rows[0]!.id);
      },
    },

    suppressions: {
      async add(contactId, email, reason, bounceId, at) {
        await trx('suppressions')
          .insert({ contact_id: contactId, email, reason, bounce_id: bounceId, created_at: at })
          .onConflict(['contact_id', 'reason'])
          .ignore();
      },
      async remove(contactId, reasons) {
        return trx('suppressions').where({ contact_id: contactId }).whereIn('reason', [...reasons]).delete();
      },
    },

    events: {
      async insert(e) {
        await trx('contact_events').insert({
          contact_id: e.contactId,
          at: e.at,
          event: e.event,
          from_state: e.fromState,
          to_state: e.toState,
          actor: e.actor,
          detail: e.detail,
          bounce_id: e.bounceId,
        });
      },
    },
  };
}

/** Transactions over a database; on PostgreSQL a deadlock or serialisation failure is retried. */
export function unitOfWork(db: Database): UnitOfWork {
  return {
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.knex.transaction((trx) => work(repositoriesFor(trx, db.dialect)));
        } catch (err) {
          if (attempt < 4 && isRetryable(err)) continue;
          throw err;
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
