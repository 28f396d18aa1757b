/** The per-run staging tables between steps (see migrations/20261124_003). */
import type { Knex } from 'knex';

export const STAGING_INVOICES = 'staging_customer_invoices';
export const STAGING_COUNTS = 'staging_purchase_counts';
export const CONSUMER_OFFSETS = 'kafka_consumer_offsets';

/** Staging and consumer positions are only needed while a run is in flight. */
export async function deleteStagingRows(db: Knex, runId: string): Promise<void> {
  await db(STAGING_INVOICES).where({ run_id: runId }).delete();
  await db(STAGING_COUNTS).where({ run_id: runId }).delete();
  await db(CONSUMER_OFFSETS).where({ run_id: runId }).delete();
}
