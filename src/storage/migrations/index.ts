import type { Knex } from 'knex';
import * as initial from './20261128000000_initial.js';
import * as operatorTools from './20261129000000_operator_tools.js';
import * as receivers from './20261201000000_receivers.js';

export interface Migration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Every migration, oldest first. A landed migration is never edited: add a new one. */
export const MIGRATIONS: readonly Migration[] = [initial, operatorTools, receivers];
