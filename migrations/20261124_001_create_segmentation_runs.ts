/** One row per workflow run: what it read, how far it got, and what it produced. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('segmentation_runs', (table) => {
    table.string('run_id', 191).primary().comment('Temporal workflow id');
    table.string('file', 1024).notNullable().comment('workbook path relative to DATA_DIR');
    table.string('sheet', 255).nullable();
    table.integer('threshold').unsigned().notNullable();
    table.integer('chunk_size').unsigned().notNullable();
    table.enu('status', ['running', 'completed', 'failed']).notNullable();
    table.string('current_step', 32).nullable();
    table.json('steps').notNullable().comment('per step: status, startedAt, finishedAt, seconds, counts');
    table.json('data_quality').nullable().comment('rows read, kept, dropped per reason');
    table.json('published_offsets').nullable().comment('per partition: first and last offset written');
    table.integer('rows_read').unsigned().nullable();
    table.integer('rows_kept').unsigned().nullable();
    table.integer('customers').unsigned().nullable();
    table.integer('low_frequency').unsigned().nullable();
    table.integer('high_frequency').unsigned().nullable();
    table.integer('messages_published').unsigned().nullable();
    table.integer('customers_consumed').unsigned().nullable();
    table.integer('rows_written').unsigned().nullable();
    table.text('error').nullable();
    table.datetime('started_at', { precision: 3 }).notNullable();
    table.datetime('finished_at', { precision: 3 }).nullable();
    table.index(['started_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('segmentation_runs');
}
