import { openDatabase } from '../../src/storage/db.js';

/**
 * What a run left in the database: the check that the messages did reach the contact rules
 * (each should have a bounce row attributed to a contact), not only the raw-message table.
 */

export interface Outcome {
  readonly messages: number;
  /** Messages with at least one record attributed to a contact. */
  readonly attributed: number;
  readonly byKind: Record<string, number>;
  readonly byStatus: Record<string, number>;
  readonly records: number;
  readonly attributedRecords: number;
  readonly duplicates: number;
  readonly contacts: number;
  readonly bouncedContacts: number;
  readonly suppressions: number;
  readonly campaigns: number;
}

/** Counts rows received after `since` (ISO-8601; everything by default). */
export async function outcome(databaseUrl: string, since = '1970-01-01T00:00:00.000Z'): Promise<Outcome> {
  const db = openDatabase({ url: databaseUrl, poolMax: 1, statementTimeoutMs: 0 });
  const k = db.knex;
  try {
    const n = async (q: Promise<unknown>) => Number(((await q) as Array<Record<string, unknown>>)[0]?.['n'] ?? 0);
    const group = async (column: string) => {
      const rows = (await k('messages').where('received_at', '>=', since).select(column).count({ n: '*' }).groupBy(column)) as Array<Record<string, unknown>>;
      return Object.fromEntries(rows.map((r) => [String(r[column]), Number(r['n'])]));
    };
    const bounces = () => k('bounces').where('received_at', '>=', since);
    return {
      messages: await n(k('messages').where('received_at', '>=', since).count({ n: '*' })),
      attributed: await n(bounces().whereNotNull('contact_id').countDistinct({ n: 'message_id' })),
      byKind: await group('kind'),
      byStatus: await group('status'),
      records: await n(bounces().count({ n: '*' })),
      attributedRecords: await n(bounces().whereNotNull('contact_id').count({ n: '*' })),
      duplicates: await n(k('messages').where('received_at', '>=', since).sum({ n: 'duplicates' })),
      contacts: await n(k('contacts').count({ n: '*' })),
      bouncedContacts: await n(k('contacts').where({ state: 'bounced' }).count({ n: '*' })),
      suppressions: await n(k('suppressions').count({ n: '*' })),
      campaigns: await n(k('campaigns').count({ n: '*' })),
    };
  } finally {
    await db.close();
  }
}
