import type { Knex } from 'knex';
import { fitted, fittedReplay } from './columns.js';
import type { Database } from './db.js';
import { isRetryable, repositoriesFor } from './knex-repositories.js';
import { num, toBounceRecord, toStoredMessage, type BounceRow, type MessageRow } from './record-rows.js';
import type { MessageStore, ReplayRepository } from './stores.js';

/** Stored messages: replay (re-reading raw bytes) and retention (pruning them). */

const BOUNCE_COLUMNS = [
  'id',
  'message_id',
  'campaign_id',
  'contact_id',
  'recipient',
  'kind',
  'action',
  'status_code',
  'status_source',
  'type',
  'description',
  'diagnostic',
  'remote_mta',
  'reporting_mta',
  'counted',
  'received_at',
] as const;

function replayRepository(trx: Knex.Transaction, dialect: Database['dialect']): ReplayRepository {
  return {
    async lockMessage(id) {
      const q = trx('messages').where({ id }).first();
      const row: MessageRow | undefined = await (dialect === 'pg' ? q.forUpdate() : q);
      return row ? toStoredMessage(row) : null;
    },

    async records(messageId) {
      const rows: BounceRow[] = await trx('bounces').where({ message_id: messageId }).orderBy('id');
      return rows.map(toBounceRecord);
    },

    async replaceRecords(messageId, at) {
      const columns = BOUNCE_COLUMNS.join(', ');
      await trx.raw(`INSERT INTO replaced_bounces (${columns}, replaced_at) SELECT ${columns}, ? FROM bounces WHERE message_id = ?`, [at, messageId]);
      return trx('bounces').where({ message_id: messageId }).delete();
    },

    async updateMessage(id, u) {
      await trx('messages')
        .where({ id })
        .update({
          kind: u.kind,
          format: u.format,
          status: u.status,
          problems: u.problems.length > 0 ? JSON.stringify(u.problems) : null,
          header_message_id: u.headerMessageId,
          campaign_id: u.campaignId,
          contact_key: u.contactKey,
          replayed_at: u.replayedAt,
        });
    },

    async hadEventAfter(contactId, events, at) {
      const row = await trx('contact_events').where({ contact_id: contactId }).whereIn('event', [...events]).where('at', '>', at).first('id');
      return row !== undefined;
    },
  };
}

export function knexMessageStore(db: Database): MessageStore {
  const knex = db.knex;
  const sinceFilter = (q: Knex.QueryBuilder, since: string | null) => (since ? q.where('received_at', '>=', since) : q);
  return {
    async get(id) {
      const row: MessageRow | undefined = await knex('messages').where({ id }).first();
      return row ? toStoredMessage(row) : null;
    },

    async ids(afterId, since, limit) {
      const rows: Array<{ id: number | string }> = await sinceFilter(knex('messages').where('id', '>', afterId), since).orderBy('id').limit(limit).select('id');
      return rows.map((r) => Number(r.id));
    },

    async count(since) {
      const row = await sinceFilter(knex('messages'), since).count({ n: '*' }).first();
      return num(row?.['n']);
    },

    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await knex.transaction((trx) => work(fitted(repositoriesFor(trx, db.dialect)), fittedReplay(replayRepository(trx, db.dialect))));
        } catch (err) {
          if (attempt < 4 && isRetryable(err)) continue;
          throw err;
        }
      }
    },

    async pruneRaw(before, limit) {
      const batch = knex('messages').whereNotNull('raw').where('received_at', '<', before).orderBy('id').limit(limit).select('id');
      return knex('messages').whereIn('id', batch).update({ raw: null });
    },

    async countPrunable(before) {
      const row = await knex('messages').whereNotNull('raw').where('received_at', '<', before).count({ n: '*' }).first();
      return num(row?.['n']);
    },
  };
}
