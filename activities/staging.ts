/** The per-run staging tables between steps (see migrations/20261124_003). */
import type { Knex } from 'knex';
import { RUNS_TABLE } from './run-log';

export const STAGING_INVOICES = 'staging_customer_invoices';
export const STAGING_COUNTS = 'staging_purchase_counts';
export const CONSUMER_OFFSETS = 'kafka_consumer_offsets';

/**
 * The most recent runs keep their staging rows and consumer positions, so any of them can be
 * reset in the Temporal UI to any step and re-run from its own data; older ones are removed.
 */
export const STAGING_RETAINED_RUNS = 3;

const STAGING_TABLES = [STAGING_INVOICES, STAGING_COUNTS, CONSUMER_OFFSETS];

/** Bounds the staging tables: everything but the newest `keep` runs' rows goes. */
export async function pruneStaging(db: Knex, keep = STAGING_RETAINED_RUNS): Promise<void> {
  const recent: string[] = await db(RUNS_TABLE).orderBy('started_at', 'desc').limit(keep).pluck('run_id');
  for (const table of STAGING_TABLES) await db(table).whereNotIn('run_id', recent).delete();
}

/** A failed run's partial staging is no use: re-running it starts with loading again. */
export async function deleteStagingRows(db: Knex, runId: string): Promise<void> {
  for (const table of STAGING_TABLES) await db(table).where({ run_id: runId }).delete();
}
