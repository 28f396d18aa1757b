/**
 * The run's row never moves backwards: each record the workflow writes carries a sequence number
 * (later records, higher numbers, also across resets), and an UPDATE applies only if its number
 * is higher than the stored one. Rows recorded before this migration start at 0, so any
 * sequenced record replaces them.
 */
import type { Knex } from 'knex';

const RUNS = 'segmentation_runs';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(RUNS, (table) => {
    table.bigInteger('record_sequence').unsigned().notNullable().defaultTo(0).comment('sequence of the record the row holds: an older one never replaces it');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(RUNS, (table) => {
    table.dropColumn('record_sequence');
  });
}
