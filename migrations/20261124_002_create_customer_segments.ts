/**
 * The results, with the older design's column names (outside tools read them), plus the
 * history of every run's classification so one can ask who moved from Low to High.
 */
import type { Knex } from 'knex';

const FREQUENCY_CATEGORIES = ['Low Frequency', 'High Frequency'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('customer_segments', (table) => {
    table.integer('CustomerID').unsigned().primary();
    table.integer('PurchaseCount').unsigned().notNullable().comment('distinct invoices');
    table.enu('FrequencyCategory', FREQUENCY_CATEGORIES).notNullable();
    table.string('RunId', 191).notNullable().comment('the run that last wrote this row');
    table.datetime('UpdatedAt', { precision: 3 }).notNullable();
    table.index(['FrequencyCategory']);
  });
  await knex.schema.createTable('customer_segment_history', (table) => {
    table.string('RunId', 191).notNullable();
    table.integer('CustomerID').unsigned().notNullable();
    table.integer('PurchaseCount').unsigned().notNullable();
    table.enu('FrequencyCategory', FREQUENCY_CATEGORIES).notNullable();
    table.datetime('RecordedAt', { precision: 3 }).notNullable();
    table.primary(['RunId', 'CustomerID']);
    table.index(['CustomerID']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('customer_segment_history');
  await knex.schema.dropTable('customer_segments');
}
