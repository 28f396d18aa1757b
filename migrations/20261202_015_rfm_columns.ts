/**
 * RFM segments (README "RFM segments"): recency, monetary value, their scores and the named
 * segment, beside the seed's three columns, which stay exactly as they are. In the published
 * table, in every run's history, and in the staging counts the aggregate step computes them into.
 * Nullable: rows written before this have none. Added at the end of each table, which MariaDB
 * and MySQL 8 do in place (no table copy), however long the history. RfmSegment compares byte for
 * byte (utf8mb4_bin): reconcile must tell "Champions" from "champions ".
 */
import type { Knex } from 'knex';
import { MAX_SEGMENT_NAME } from '../lib/segmentation/rfm-rules';

const TABLES = ['staging_purchase_counts', 'customer_segment_history', 'customer_segments'];

const COLUMNS = `
  ADD COLUMN RecencyDays INT NULL COMMENT 'days from the newest invoice to the run''s as-of date',
  ADD COLUMN Monetary DECIMAL(30,2) NULL COMMENT 'sum of Quantity x UnitPrice over kept rows, exact, rounded half up to cents',
  ADD COLUMN RecencyScore TINYINT UNSIGNED NULL COMMENT '1-5',
  ADD COLUMN FrequencyScore TINYINT UNSIGNED NULL COMMENT '1-5',
  ADD COLUMN MonetaryScore TINYINT UNSIGNED NULL COMMENT '1-5',
  ADD COLUMN RfmSegment VARCHAR(${MAX_SEGMENT_NAME}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL COMMENT 'named segment of the recency and frequency scores'`;

export async function up(knex: Knex): Promise<void> {
  // One statement per table: a crash cannot leave a table with half the columns, and a migration
  // run again after a crash between tables goes on with the tables still to do.
  for (const table of TABLES) {
    if (!(await knex.schema.hasColumn(table, 'RfmSegment'))) await knex.raw(`ALTER TABLE ?? ${COLUMNS}`, [table]);
  }
  const [indexes] = await knex.raw("SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'customer_segments' AND column_name = 'RfmSegment'");
  if ((indexes as unknown[]).length === 0) await knex.schema.alterTable('customer_segments', (table) => table.index(['RfmSegment']));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('customer_segments', (table) => table.dropIndex(['RfmSegment']));
  for (const table of TABLES) {
    await knex.raw('ALTER TABLE ?? DROP COLUMN RecencyDays, DROP COLUMN Monetary, DROP COLUMN RecencyScore, DROP COLUMN FrequencyScore, DROP COLUMN MonetaryScore, DROP COLUMN RfmSegment', [table]);
  }
}
