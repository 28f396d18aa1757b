/**
 * RFM segments (README "RFM segments"): recency, monetary value, their scores and the named
 * segment, beside the seed's three columns, which stay exactly as they are. In the published
 * table, in every run's history, and in the staging counts the aggregate step computes them into.
 * Nullable: rows written before this have none. Added at the end of each table, which MariaDB
 * and MySQL 8 do in place (no table copy), however long the history.
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
  ADD COLUMN RfmSegment VARCHAR(${MAX_SEGMENT_NAME}) NULL COMMENT 'named segment of the recency and frequency scores'`;

export async function up(knex: Knex): Promise<void> {
  // One statement per table: a crash cannot leave a table with half the columns.
  for (const table of TABLES) await knex.raw(`ALTER TABLE ?? ${COLUMNS}`, [table]);
  await knex.schema.alterTable('customer_segments', (table) => table.index(['RfmSegment']));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('customer_segments', (table) => table.dropIndex(['RfmSegment']));
  for (const table of TABLES) {
    await knex.raw('ALTER TABLE ?? DROP COLUMN RecencyDays, DROP COLUMN Monetary, DROP COLUMN RecencyScore, DROP COLUMN FrequencyScore, DROP COLUMN MonetaryScore, DROP COLUMN RfmSegment', [table]);
  }
}
