import type { Knex } from 'knex';

/**
 * The first schema. Timestamps are `timestamptz` on PostgreSQL and ISO-8601 text on SQLite
 * (the application always writes ISO-8601 UTC strings).
 */
export const name = '20261128000000_initial';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('automations', (t) => {
    t.string('id', 64).primary();
    t.string('name', 255).nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('campaigns', (t) => {
    t.string('id', 64).primary();
    t.string('name', 255).nullable();
    t.string('automation_id', 64).nullable().references('id').inTable('automations');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['automation_id']);
  });

  await knex.schema.createTable('contacts', (t) => {
    t.increments('id').primary();
    t.string('email', 320).notNullable().unique();
    t.string('email_key', 16).notNullable().index();
    t.string('state', 16).notNullable().defaultTo('active');
    // JSON array of the campaign ids of the current run of soft bounces.
    t.text('soft_campaigns').notNullable().defaultTo('[]');
    t.boolean('complained').notNullable().defaultTo(false);
    t.timestamp('bounced_at', { useTz: true }).nullable();
    t.string('bounced_reason', 32).nullable();
    t.bigInteger('bounce_id').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('sends', (t) => {
    t.string('campaign_id', 64).notNullable().references('id').inTable('campaigns');
    t.integer('contact_id').notNullable().references('id').inTable('contacts');
    t.timestamp('sent_at', { useTz: true }).notNullable();
    t.string('message_id', 998).nullable();
    t.primary(['campaign_id', 'contact_id']);
    t.index(['contact_id']);
    t.index(['message_id']);
  });

  await knex.schema.createTable('messages', (t) => {
    t.bigIncrements('id').primary();
    t.string('fingerprint', 64).notNullable().unique();
    t.timestamp('received_at', { useTz: true }).notNullable();
    t.string('transport', 16).notNullable();
    t.string('mail_from', 512).nullable();
    t.text('rcpt_to').notNullable();
    t.string('remote_address', 64).nullable();
    t.string('helo', 255).nullable();
    t.integer('size').notNullable();
    t.binary('raw').nullable();
    t.string('kind', 16).notNullable();
    t.string('format', 32).notNullable();
    // processed | unattributed | unparseable
    t.string('status', 16).notNullable();
    t.text('problems').nullable();
    t.string('header_message_id', 998).nullable();
    t.string('campaign_id', 64).nullable();
    // The contact part of the VERP token that identified the message, if any.
    t.string('contact_key', 16).nullable();
    t.integer('duplicates').notNullable().defaultTo(0);
    t.timestamp('last_duplicate_at', { useTz: true }).nullable();
    t.index(['received_at']);
    t.index(['kind']);
  });

  await knex.schema.createTable('bounces', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('message_id').notNullable().references('id').inTable('messages');
    t.string('campaign_id', 64).nullable().references('id').inTable('campaigns');
    t.integer('contact_id').nullable().references('id').inTable('contacts');
    t.string('recipient', 320).nullable();
    // bounce | delay | delivery | complaint
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
    t.index(['campaign_id', 'kind']);
    t.index(['contact_id']);
    t.index(['received_at']);
    t.index(['message_id']);
  });

  await knex.schema.createTable('suppressions', (t) => {
    t.integer('contact_id').notNullable().references('id').inTable('contacts');
    t.string('email', 320).notNullable();
    // hard_bounce | soft_bounces | complaint
    t.string('reason', 32).notNullable();
    t.bigInteger('bounce_id').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['contact_id', 'reason']);
    t.index(['email']);
    t.index(['created_at']);
  });

  await knex.schema.createTable('contact_events', (t) => {
    t.bigIncrements('id').primary();
    t.integer('contact_id').notNullable().references('id').inTable('contacts');
    t.timestamp('at', { useTz: true }).notNullable();
    t.string('event', 32).notNullable();
    t.string('from_state', 16).notNullable();
    t.string('to_state', 16).notNullable();
    t.string('actor', 255).notNullable();
    t.text('detail').notNullable();
    t.bigInteger('bounce_id').nullable();
    t.index(['contact_id', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['contact_events', 'suppressions', 'bounces', 'messages', 'sends', 'contacts', 'campaigns', 'automations']) {
    await knex.schema.dropTableIfExists(table);
  }
}
