import type { Knex } from 'knex';
import type { ContactState } from '../domain/contact-rules.js';
import type { Database } from './db.js';
import { isRetryable } from './knex-repositories.js';
import { normaliseMessageId } from './rows.js';
import type { NewSend, SendStore } from './stores.js';

/**
 * The send pipeline's writes, in bulk: one multi-row INSERT per chunk, `ON CONFLICT DO NOTHING`
 * so that an existing contact, campaign or send is never modified (a bounced contact registered
 * again stays bounced; the first record of a send is kept).
 */

const CHUNK = 200;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function withRetry<T>(db: Database, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.knex.transaction(work);
    } catch (err) {
      if (attempt < 4 && isRetryable(err)) continue;
      throw err;
    }
  }
}

async function ensureContacts(trx: Knex | Knex.Transaction, contacts: ReadonlyArray<{ email: string; emailKey: string }>, at: string): Promise<Map<string, number>> {
  const unique = new Map<string, string>();
  for (const c of contacts) unique.set(c.email, c.emailKey);
  // Sorted, so that concurrent writers take row locks in the same order.
  const emails = [...unique.keys()].sort();
  const ids = new Map<string, number>();
  for (const part of chunks(emails)) {
    await trx('contacts')
      .insert(part.map((email) => ({ email, email_key: unique.get(email)!, state: 'active', soft_campaigns: '[]', complained: false, created_at: at, updated_at: at })))
      .onConflict('email')
      .ignore();
    const rows: Array<{ id: number | string; email: string }> = await trx('contacts').whereIn('email', part).select('id', 'email');
    for (const r of rows) ids.set(r.email, Number(r.id));
  }
  return ids;
}

export function knexSendStore(db: Database): SendStore {
  return {
    async registerAutomation(id, name, at) {
      const insert = db.knex('automations').insert({ id, name, created_at: at }).onConflict('id');
      await (name === null ? insert.ignore() : insert.merge(['name']));
    },

    async registerCampaign(id, name, automationId, at) {
      await withRetry(db, async (trx) => {
        if (automationId) await trx('automations').insert({ id: automationId, name: null, created_at: at }).onConflict('id').ignore();
        const update: string[] = [];
        if (name !== null) update.push('name');
        if (automationId !== undefined) update.push('automation_id');
        const insert = trx('campaigns').insert({ id, name, automation_id: automationId ?? null, created_at: at }).onConflict('id');
        await (update.length > 0 ? insert.merge(update) : insert.ignore());
      });
    },

    async ensureContacts(contacts, at) {
      return withRetry(db, (trx) => ensureContacts(trx, contacts, at));
    },

    async recordSends(sends: readonly NewSend[], at) {
      if (sends.length === 0) return;
      await withRetry(db, async (trx) => {
        for (const part of chunks([...new Set(sends.map((s) => s.campaignId))].sort())) {
          await trx('campaigns')
            .insert(part.map((id) => ({ id, name: null, automation_id: null, created_at: at })))
            .onConflict('id')
            .ignore();
        }
        const ids = await ensureContacts(trx, sends, at);
        const seen = new Set<string>();
        const rows = [];
        for (const s of sends) {
          const contactId = ids.get(s.email)!;
          const key = `${s.campaignId}\n${contactId}`;
          if (seen.has(key)) continue;
          seen.add(key);
          rows.push({ campaign_id: s.campaignId, contact_id: contactId, sent_at: s.sentAt, message_id: normaliseMessageId(s.messageId) });
        }
        for (const part of chunks(rows)) await trx('sends').insert(part).onConflict(['campaign_id', 'contact_id']).ignore();
      });
    },

    async states(emails) {
      const out = new Map<string, ContactState>();
      for (const part of chunks([...new Set(emails)], 500)) {
        const rows: Array<{ email: string; state: string }> = await db.knex('contacts').whereIn('email', part).select('email', 'state');
        for (const r of rows) out.set(r.email, r.state as ContactState);
      }
      return out;
    },
  };
}
