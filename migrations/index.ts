/**
 * The migrations, in the order they run. Listed here rather than discovered from the folder, so
 * they load the same way compiled in dist/, under jest and in a bundle.
 */
import type { Knex } from 'knex';
import * as createSegmentationRuns from './20261124_001_create_segmentation_runs';
import * as createCustomerSegments from './20261124_002_create_customer_segments';
import * as createStaging from './20261124_003_create_staging_tables';
import * as createConsumerOffsets from './20261124_004_create_consumer_offsets';
import * as runIdentityAndPublication from './20261124_005_run_identity_and_publication';
import * as binaryInvoiceNumbers from './20261124_006_binary_invoice_numbers';
import * as consumedMessageCounts from './20261124_007_consumed_message_counts';
import * as auditAndDataDate from './20261201_008_audit_and_data_date';
import * as loadRowCounts from './20261201_013_load_row_counts';
import * as runRecordSequence from './20261201_011_run_record_sequence';
import * as stepAttemptFences from './20261201_009_step_attempt_fences';
import * as invoiceLedger from './20261202_014_invoice_ledger';
import * as rfmColumns from './20261202_015_rfm_columns';
import * as publishedSegmentsView from './20261203_016_published_segments_view';

const MIGRATIONS: Record<string, Knex.Migration> = {
  '20261124_001_create_segmentation_runs': createSegmentationRuns,
  '20261124_002_create_customer_segments': createCustomerSegments,
  '20261124_003_create_staging_tables': createStaging,
  '20261124_004_create_consumer_offsets': createConsumerOffsets,
  '20261124_005_run_identity_and_publication': runIdentityAndPublication,
  '20261124_006_binary_invoice_numbers': binaryInvoiceNumbers,
  '20261124_007_consumed_message_counts': consumedMessageCounts,
  '20261201_008_audit_and_data_date': auditAndDataDate,
  '20261201_013_load_row_counts': loadRowCounts,
  '20261201_011_run_record_sequence': runRecordSequence,
  '20261201_009_step_attempt_fences': stepAttemptFences,
  '20261202_014_invoice_ledger': invoiceLedger,
  '20261202_015_rfm_columns': rfmColumns,
  '20261203_016_published_segments_view': publishedSegmentsView,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name],
};
