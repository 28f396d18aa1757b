/**
 * Where a run keeps what later steps need, keyed by run so any worker can pick up a step and a
 * retried step overwrites its own rows. Emptied for the run once it reconciles.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('staging_customer_invoices', (table) => {
    table.string('run_id', 191).notNullable();
    table.integer('CustomerID').unsigned().notNullable();
    table.string('InvoiceNo', 32).notNullable();
    // The key makes a re-inserted pair a no-op: the table holds distinct pairs only.
    table.primary(['run_id', 'CustomerID', 'InvoiceNo']);
  });
  await knex.schema.createTable('staging_purchase_counts', (table) => {
    table.string('run_id', 191).notNullable();
    table.integer('CustomerID').unsigned().notNullable();
    table.integer('PurchaseCount').unsigned().notNullable();
    table.primary(['run_id', 'CustomerID']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('staging_purchase_counts');
  await knex.schema.dropTable('staging_customer_invoices');
}
