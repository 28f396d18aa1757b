/**
 * Step 1, load and clean: streams the workbook row by row (memory does not grow with its size),
 * applies the cleaning rules, and keeps the distinct (CustomerID, InvoiceNo) pairs in MySQL
 * staging for the next step. Returns the data-quality report, never rows.
 *
 * It heartbeats after each batch it has written, with the last row number and the report so far;
 * a retried attempt skips the rows that are already in staging and carries the counts on.
 */
import { Context } from '@temporalio/activity';
import { countRow, emptyDataQualityReport, type DataQualityReport } from '../lib/cleaning/data-quality-report';
import { cleanTransaction } from '../lib/cleaning/clean-transaction';
import { resolveWorkbookPath } from '../lib/data-dir';
import { readTransactionRows } from '../lib/workbook/read-transaction-rows';
import type { ActivityDependencies } from './activity-dependencies';
import { markStepCompleted, markStepStarted } from './run-log';
import { STAGING_INVOICES } from './staging';

export interface LoadWorkbookInput {
  runId: string;
  file: string;
  sheet: string | null;
}

/** Heartbeat details: how far the rows in staging go, and the counts up to there. */
export interface LoadCheckpoint {
  rowNumber: number;
  report: DataQualityReport;
  bytesRead: number;
  totalBytes: number;
}

const ROWS_PER_BATCH = 5_000;

export function createLoadWorkbook({ db, dataDir }: ActivityDependencies) {
  return async function loadWorkbook({ runId, file, sheet }: LoadWorkbookInput): Promise<DataQualityReport> {
    const context = Context.current();
    const workbook = resolveWorkbookPath(dataDir, file);
    const resumed = context.info.heartbeatDetails as LoadCheckpoint | undefined;
    const checkpoint: LoadCheckpoint = resumed ?? { rowNumber: 0, report: emptyDataQualityReport(), bytesRead: 0, totalBytes: 0 };
    if (resumed) {
      context.log.info('resuming load after a retry', { rowNumber: resumed.rowNumber, rowsRead: resumed.report.rowsRead });
    } else {
      // A first attempt, or a workflow reset to this step: start from an empty staging area.
      await db(STAGING_INVOICES).where({ run_id: runId }).delete();
      await markStepStarted(db, runId, 'load');
    }

    const report = checkpoint.report;
    let pending = new Map<string, { run_id: string; CustomerID: number; InvoiceNo: string }>();
    let rowsInBatch = 0;
    let lastRowNumber = checkpoint.rowNumber;

    const flush = async () => {
      if (pending.size) await db(STAGING_INVOICES).insert([...pending.values()]).onConflict().ignore();
      pending = new Map();
      rowsInBatch = 0;
      checkpoint.rowNumber = lastRowNumber;
      context.heartbeat(checkpoint);
    };

    const rows = readTransactionRows({
      filePath: workbook.absolutePath,
      displayName: workbook.displayName,
      sheet: sheet ?? undefined,
      onBytesRead: (bytesRead, totalBytes) => {
        checkpoint.bytesRead = bytesRead;
        checkpoint.totalBytes = totalBytes;
      },
    });
    for await (const row of rows) {
      if (row.rowNumber <= checkpoint.rowNumber) continue;
      const cleaned = cleanTransaction(row);
      countRow(report, cleaned);
      if (cleaned.kept) {
        const key = `${cleaned.customerId}\u0000${cleaned.invoiceNo}`;
        pending.set(key, { run_id: runId, CustomerID: cleaned.customerId, InvoiceNo: cleaned.invoiceNo });
      }
      lastRowNumber = row.rowNumber;
      if (++rowsInBatch >= ROWS_PER_BATCH) await flush();
    }
    await flush();

    await markStepCompleted(
      db,
      runId,
      'load',
      { rowsRead: report.rowsRead, rowsKept: report.rowsKept },
      { data_quality: JSON.stringify(report), rows_read: report.rowsRead, rows_kept: report.rowsKept },
    );
    return report;
  };
}
