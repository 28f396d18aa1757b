/**
 * Nightly delta exports (`mode: append`) and windows:
 * - staging keeps, per (customer, invoice), the newest date and the exact amount (sum of
 *   Quantity × UnitPrice) of the lines one batch of one load part read. A batch is keyed by its
 *   part and the last row it covers, so an attempt that resumes from a checkpoint first deletes
 *   its part's batches past it and amounts are never added twice;
 * - `staging_run_invoices`: one row per invoice of a run (what the run would merge), made by the
 *   aggregate step;
 * - `invoice_ledger`: one row per (CustomerID, InvoiceNo) that append runs have merged, with the
 *   run that last wrote it and the time its export was for (a row only gives way to an export for
 *   the same time or later, whatever order the runs merge in); `invoice_ledger_state`, its single
 *   row, is its version (one more per merge that changed something), the latest night merged with
 *   no file, and the merge lock;
 * - `segmentation_runs` says which mode and window ran, the run's ledger figures and when it merged.
 */
import type { Knex } from 'knex';
import { INVOICE_NO_MAX_BYTES } from '../lib/segmentation/business-keys';

const STAGING_INVOICES = 'staging_customer_invoices';
const RUN_INVOICES = 'staging_run_invoices';
const LEDGER = 'invoice_ledger';
const LEDGER_STATE = 'invoice_ledger_state';
const RUNS = 'segmentation_runs';
/** Exact to 10 decimal places, up to 10^20: line amounts of any real export, summed. */
const AMOUNT = 'DECIMAL(30,10)';

export async function up(knex: Knex): Promise<void> {
  // One statement: a crash cannot leave the table without a key (MySQL's DDL is not transactional).
  // part_key '' marks pairs staged by workers from before: the aggregate step refuses them.
  await knex.raw(
    `ALTER TABLE ??
       ADD COLUMN part_key CHAR(64) NOT NULL DEFAULT '' COMMENT 'sha256 of file and sheet: the load part',
       ADD COLUMN file_no INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'the file''s place in the run''s files: a later file replaces an invoice',
       ADD COLUMN through_row INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'the last row of the batch that staged these lines',
       ADD COLUMN InvoiceDate DATETIME NULL,
       ADD COLUMN Amount ${AMOUNT} NOT NULL DEFAULT 0,
       DROP PRIMARY KEY,
       ADD PRIMARY KEY (run_id, CustomerID, InvoiceNo, part_key, through_row),
       ADD INDEX staging_invoices_part_batch (run_id, part_key, through_row)`,
    [STAGING_INVOICES],
  );
  await knex.schema.createTable(RUN_INVOICES, (table) => {
    table.string('run_id', 191).notNullable();
    table.integer('CustomerID').unsigned().notNullable();
    table.specificType('InvoiceNo', `VARBINARY(${INVOICE_NO_MAX_BYTES})`).notNullable();
    table.datetime('InvoiceDate').nullable();
    table.specificType('Amount', AMOUNT).notNullable();
    table.primary(['run_id', 'CustomerID', 'InvoiceNo']);
  });
  await knex.schema.createTable(LEDGER, (table) => {
    table.integer('CustomerID').unsigned().notNullable();
    table.specificType('InvoiceNo', `VARBINARY(${INVOICE_NO_MAX_BYTES})`).notNullable();
    table.datetime('InvoiceDate').nullable();
    table.specificType('Amount', AMOUNT).notNullable();
    table.string('RunId', 191).notNullable().comment('the append run that last wrote this invoice');
    table.datetime('SourceAt', { precision: 3 }).notNullable().comment("the time that run's export was for (its schedule's slot, or its start)");
    table.datetime('MergedAt', { precision: 3 }).notNullable();
    table.primary(['CustomerID', 'InvoiceNo']);
    table.index(['InvoiceDate']);
    table.index(['RunId']);
  });
  await knex.schema.createTable(LEDGER_STATE, (table) => {
    table.tinyint('id').unsigned().primary();
    table.bigInteger('version').unsigned().notNullable().defaultTo(0).comment('one more per merge: a run counted on the version it read');
    table.datetime('night_date').nullable().comment('the latest scheduled night merged with no file: the data date is at least this');
    table.string('last_run_id', 191).nullable();
    table.datetime('merged_at', { precision: 3 }).nullable();
  });
  await knex(LEDGER_STATE).insert({ id: 1, version: 0 });
  await knex.schema.alterTable(RUNS, (table) => {
    table.string('mode', 16).notNullable().defaultTo('snapshot').comment('snapshot: the files are the whole history; append: merged into the ledger');
    table.string('window_length', 16).notNullable().defaultTo('all').comment("the run's window: all, or e.g. 90d, 12m");
    table.json('invoices').nullable().comment("the run's invoices against its window and the ledger: added, replaced, outside the window, date range");
    table.datetime('ledger_merged_at', { precision: 3 }).nullable().comment('when this append run merged its invoices into the ledger');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable(RUNS, (table) => {
    table.dropColumns('mode', 'window_length', 'invoices', 'ledger_merged_at');
  });
  await knex.schema.dropTable(LEDGER_STATE);
  await knex.schema.dropTable(LEDGER);
  await knex.schema.dropTable(RUN_INVOICES);
  // Lines of one invoice staged by several batches would collide under the old key.
  await knex(STAGING_INVOICES).delete();
  await knex.raw(
    `ALTER TABLE ??
       DROP INDEX staging_invoices_part_batch,
       DROP PRIMARY KEY,
       DROP COLUMN part_key, DROP COLUMN file_no, DROP COLUMN through_row, DROP COLUMN InvoiceDate, DROP COLUMN Amount,
       ADD PRIMARY KEY (run_id, CustomerID, InvoiceNo)`,
    [STAGING_INVOICES],
  );
}
