/**
 * The consumer's position per run and partition. It is written in the same transaction as the
 * rows a batch produced, so a consume that crashes and restarts neither loses nor repeats a row.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('kafka_consumer_offsets', (table) => {
    table.string('run_id', 191).notNullable();
    table.string('topic', 249).notNullable();
    table.integer('partition').unsigned().notNullable();
    table.bigInteger('next_offset').unsigned().notNullable();
    table.primary(['run_id', 'topic', 'partition']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('kafka_consumer_offsets');
}
