import type { Database } from './db.js';
import { num } from './record-rows.js';
import type { HealthStore } from './stores.js';

/** The database probe of `/healthz` and the contact gauges of `/metrics`. */
export function knexHealthStore(db: Database): HealthStore {
  const knex = db.knex;
  return {
    async ping(timeoutMs) {
      // Reads a page of a real table: on SQLite `SELECT 1` would not touch the file.
      await knex('contacts').select('id').limit(1).timeout(timeoutMs, { cancel: db.dialect === 'pg' });
    },

    async contactCounts() {
      const [bounced, suppressed] = await Promise.all([
        knex('contacts').where({ state: 'bounced' }).count({ n: '*' }).first(),
        knex('suppressions').countDistinct({ n: 'contact_id' }).first(),
      ]);
      return { bounced: num(bounced?.['n']), suppressed: num(suppressed?.['n']) };
    },
  };
}
