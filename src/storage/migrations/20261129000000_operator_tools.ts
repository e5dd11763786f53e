import type { Knex } from 'knex';

/**
 * What reports, replay and the send pipeline need:
 * - `replaced_bounces`: the records a replay replaced (same columns as `bounces`, plus when);
 *   ids are kept, so a suppression or an audit event that names a replaced record still finds it;
 * - `messages.replayed_at`: when a replay last changed what a message says;
 * - indexes for the per-campaign aggregates and the sends timeline;
 * - the `suppressed_contacts` view: one row per suppressed contact, for a send pipeline that
 *   reads SQL.
 */
export const name = '20261129000000_operator_tools';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('replaced_bounces', (t) => {
    t.bigInteger('id').primary();
    t.bigInteger('message_id').notNullable();
    t.string('campaign_id', 64).nullable();
    t.integer('contact_id').nullable();
    t.string('recipient', 320).nullable();
    t.string('kind', 16).notNullable();
    t.string('action', 16).nullable();
    t.string('status_code', 16).nullable();
    t.string('status_source', 16).nullable();
    t.string('type', 8).nullable();
    t.text('description').nullable();
    t.text('diagnostic').nullable();
    t.string('remote_mta', 255).nullable();
    t.string('reporting_mta', 255).nullable();
    t.boolean('counted').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable();
    t.timestamp('replaced_at', { useTz: true }).notNullable();
    t.index(['message_id']);
    t.index(['contact_id']);
  });

  await knex.schema.alterTable('messages', (t) => {
    t.timestamp('replayed_at', { useTz: true }).nullable();
  });

  await knex.schema.alterTable('bounces', (t) => {
    // Covers the per-campaign, per-contact aggregates of the reports.
    t.index(['campaign_id', 'contact_id', 'kind', 'type'], 'bounces_campaign_contact_kind_type_index');
  });
  await knex.schema.alterTable('sends', (t) => {
    t.index(['sent_at']);
  });

  if (isPg(knex)) {
    await knex.raw(`CREATE VIEW suppressed_contacts AS
      SELECT contact_id, email, string_agg(reason, ',' ORDER BY reason) AS reasons, min(created_at) AS suppressed_since
      FROM suppressions GROUP BY contact_id, email`);
  } else {
    await knex.raw(`CREATE VIEW suppressed_contacts AS
      SELECT contact_id, email, group_concat(reason, ',') AS reasons, min(created_at) AS suppressed_since
      FROM (SELECT contact_id, email, reason, created_at FROM suppressions ORDER BY contact_id, reason)
      GROUP BY contact_id, email`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW IF EXISTS suppressed_contacts');
  await knex.schema.alterTable('sends', (t) => {
    t.dropIndex(['sent_at']);
  });
  await knex.schema.alterTable('bounces', (t) => {
    t.dropIndex(['campaign_id', 'contact_id', 'kind', 'type'], 'bounces_campaign_contact_kind_type_index');
  });
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('replayed_at');
  });
  await knex.schema.dropTableIfExists('replaced_bounces');
}

function isPg(knex: Knex): boolean {
  return /^(pg|postgres)/i.test(String(knex.client.config.client));
}
