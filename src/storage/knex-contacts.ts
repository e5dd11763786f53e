import type { Knex } from 'knex';
import type { Database } from './db.js';
import { num, toBounceRecord, toContactEvent, toSuppression, type BounceRow, type ContactEventRow, type SuppressionRow } from './record-rows.js';
import { toContact, type ContactRow } from './rows.js';
import type { ContactStore, SuppressionQuery, SuppressionStore } from './stores.js';

/** Contact look-ups and the suppression list, read outside any ingest transaction. */

const CHUNK = 500;

export function knexContactStore(db: Database): ContactStore {
  const knex = db.knex;
  return {
    async byEmail(email) {
      const row: ContactRow | undefined = await knex('contacts').where({ email }).first();
      return row ? toContact(row) : null;
    },

    async records(contactId, page) {
      const [rows, total] = await Promise.all([
        knex('bounces').where({ contact_id: contactId }).orderBy([{ column: 'received_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(page.limit).offset(page.offset),
        knex('bounces').where({ contact_id: contactId }).count({ n: '*' }).first(),
      ]);
      return { rows: (rows as BounceRow[]).map(toBounceRecord), total: num(total?.['n']) };
    },

    async events(contactId, page) {
      const [rows, total] = await Promise.all([
        knex('contact_events').where({ contact_id: contactId }).orderBy([{ column: 'at' }, { column: 'id' }]).limit(page.limit).offset(page.offset),
        knex('contact_events').where({ contact_id: contactId }).count({ n: '*' }).first(),
      ]);
      return { rows: (rows as ContactEventRow[]).map(toContactEvent), total: num(total?.['n']) };
    },

    async sendCount(contactId) {
      const row = await knex('sends').where({ contact_id: contactId }).count({ n: '*' }).first();
      return num(row?.['n']);
    },
  };
}

export function knexSuppressionStore(db: Database): SuppressionStore {
  const knex = db.knex;
  // The record that caused a suppression may have been replaced by a replay: look in both tables.
  const withCause = (q: Knex.QueryBuilder) =>
    q
      .leftJoin('bounces as b', 'b.id', 's.bounce_id')
      .leftJoin('replaced_bounces as rb', 'rb.id', 's.bounce_id')
      .select('s.contact_id', 's.email', 's.reason', 's.created_at', 's.bounce_id', knex.raw('COALESCE(b.campaign_id, rb.campaign_id) AS campaign_id'), knex.raw('COALESCE(b.status_code, rb.status_code) AS status_code'));

  const filtered = (query: SuppressionQuery) => {
    const q = knex('suppressions as s');
    if (query.since) q.where('s.created_at', '>=', query.since);
    if (query.search) q.whereRaw("s.email LIKE ? ESCAPE '\\'", [`%${query.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`]);
    return q;
  };

  return {
    async forContact(contactId) {
      const rows: SuppressionRow[] = await withCause(knex('suppressions as s').where('s.contact_id', contactId)).orderBy('s.created_at');
      return rows.map(toSuppression);
    },

    async byEmails(emails) {
      const out = [];
      const unique = [...new Set(emails)];
      for (let i = 0; i < unique.length; i += CHUNK) {
        const rows: SuppressionRow[] = await withCause(knex('suppressions as s').whereIn('s.email', unique.slice(i, i + CHUNK)));
        out.push(...rows.map(toSuppression));
      }
      return out;
    },

    async list(query, limit) {
      const q = withCause(filtered(query));
      const after = query.after;
      if (after) {
        // Keyset paging on (created_at, contact_id, reason), written out for both databases.
        q.where((w) =>
          w
            .where('s.created_at', '>', after.createdAt)
            .orWhere((x) => x.where('s.created_at', '=', after.createdAt).andWhere('s.contact_id', '>', after.contactId))
            .orWhere((x) => x.where('s.created_at', '=', after.createdAt).andWhere('s.contact_id', '=', after.contactId).andWhere('s.reason', '>', after.reason)),
        );
      }
      const rows: SuppressionRow[] = await q.orderBy([{ column: 's.created_at' }, { column: 's.contact_id' }, { column: 's.reason' }]).limit(limit);
      return rows.map(toSuppression);
    },

    async count(query) {
      const row = await filtered(query).count({ n: '*' }).first();
      return num(row?.['n']);
    },
  };
}
