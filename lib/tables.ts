/**
 * The MySQL tables, named once. Migrations create them; activities, the CLI and the tests refer
 * to them through these names.
 */
export const TABLES = {
  /** The published result: exactly one run's classification (the newest run that reconciled). */
  segments: 'customer_segments',
  /** Every run's classification of every customer, kept for good. */
  segmentHistory: 'customer_segment_history',
  /** Which run `customer_segments` holds; its single row is the publication lock. */
  publication: 'segment_publication',
  /** Every change of the published run: which run replaced which, how, by whom and why. */
  publicationEvents: 'segment_publication_events',
  /** One row per run: input, files read, per-step progress, counts, outcome. */
  runs: 'segmentation_runs',
  /** Per load batch: each (customer, invoice) it read, with the lines' newest date and summed amount; until the run's staging is pruned. */
  stagingInvoices: 'staging_customer_invoices',
  /** One row per invoice of a run (date, exact amount): what an append run merges into the ledger. */
  runInvoices: 'staging_run_invoices',
  /** Every invoice append runs have merged, one row per (CustomerID, InvoiceNo): the later run's version wins. */
  ledger: 'invoice_ledger',
  /** The ledger's single row: its version (one more per merge), its data date, the merge lock. */
  ledgerState: 'invoice_ledger_state',
  /** PurchaseCount per customer of a run, as aggregated and published to Kafka. */
  stagingCounts: 'staging_purchase_counts',
  /** The consumer's position per run and partition, committed with the rows it produced. */
  consumerOffsets: 'kafka_consumer_offsets',
  /** Data rows each load activity of a run has read, held to maxRows over the whole run. */
  stagingLoadRows: 'staging_load_rows',
  /** The newest attempt of each step (part, slice, group) of a run: what fences stale attempts. Kept, not staging. */
  stepAttempts: 'segmentation_step_attempts',
} as const;

/** Per-run tables that only serve a run while it works (or may be retried or reset). */
export const STAGING_TABLES = [TABLES.stagingInvoices, TABLES.runInvoices, TABLES.stagingCounts, TABLES.consumerOffsets, TABLES.stagingLoadRows] as const;
