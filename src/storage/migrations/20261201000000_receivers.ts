import type { Knex } from 'knex';

/**
 * The receivers that use this database, so that an operator can check that every MX host runs
 * with the same settings (`rebond check`). Each receiver writes its row when it starts listening,
 * refreshes `seen_at` while it runs and sets `stopped_at` when it stops.
 */
export const name = '20261201000000_receivers';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('receivers', (t) => {
    // `<smtp.hostname> <listen address>:<port>`: a host running two receivers has two rows.
    t.string('name', 320).primary();
    t.string('hostname', 255).notNullable();
    t.string('address', 64).notNullable();
    t.integer('pid').notNullable();
    t.string('version', 32).notNullable();
    // The newest migration the receiver's version knows.
    t.string('schema', 64).notNullable();
    // JSON: the settings that must agree between receivers (secrets as fingerprints only).
    t.text('settings').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('seen_at', { useTz: true }).notNullable();
    t.timestamp('stopped_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('receivers');
}
