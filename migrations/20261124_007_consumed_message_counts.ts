/**
 * How many of the run's messages each partition's consumer has taken, committed in the same
 * transaction as its position and rows: exact across retries, and per partition, so parallel
 * consume activities each report their own share.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('kafka_consumer_offsets', (table) => {
    table.bigInteger('messages_consumed').unsigned().notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('kafka_consumer_offsets', (table) => {
    table.dropColumn('messages_consumed');
  });
}
