/**
 * Step 1b, load and clean one sheet of one workbook: streams its rows (memory does not grow with
 * its size), applies the cleaning rules, and keeps the distinct (CustomerID, InvoiceNo) pairs in
 * MySQL staging for the next step. Returns the sheet's data-quality report, never rows.
 *
 * It heartbeats after each batch it has written, with the last row number and the report so far;
 * a retried attempt skips the rows already in staging and carries the counts on. It only resumes
 * on the very bytes it started on: the file's fingerprint from the load plan is checked first
 * (size and time) and confirmed by its sha256 while reading.
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { cleanTransaction } from '../lib/cleaning/clean-transaction';
import { countRow, emptyDataQualityReport, type DataQualityReport } from '../lib/cleaning/data-quality-report';
import { resolveWorkbookPath } from '../lib/data-dir';
import { WorkbookChangedError } from '../lib/errors';
import { describeChange, fingerprintFile, sizeAndTime, type FileFingerprint } from '../lib/file-fingerprint';
import { TABLES } from '../lib/tables';
import { readTransactionRows, type WorkbookReaderKind } from '../lib/workbook/read-transaction-rows';
import type { ActivityDependencies } from './activity-dependencies';

export interface LoadWorkbookPartInput {
  runId: string;
  file: string;
  sheet: string;
  fingerprint: FileFingerprint;
  reader: WorkbookReaderKind;
}

/** Heartbeat details: how far the rows in staging go, and the counts up to there. */
export interface LoadCheckpoint {
  sheet: string;
  rowNumber: number;
  report: DataQualityReport;
  bytesRead: number;
  totalBytes: number;
}

export function createLoadWorkbookPart({ db, dataDir }: ActivityDependencies) {
  return async function loadWorkbookPart({ runId, file, sheet, fingerprint, reader }: LoadWorkbookPartInput): Promise<DataQualityReport> {
    const context = Context.current();
    const signal = context.cancellationSignal;
    const workbook = resolveWorkbookPath(dataDir, file);
    const changed = (now: Partial<FileFingerprint>) =>
      new WorkbookChangedError(
        `file "${file}" changed since this run planned its load (${describeChange(fingerprint, now)}); ` +
          'send retry to load the new version from the start, or start a new run',
      );
    const now = await sizeAndTime(workbook.absolutePath);
    if (now.size !== fingerprint.size || now.mtime !== fingerprint.mtime) throw changed(now);
    // Confirmed while the rows are read: the hash costs a read of the file, not a wait.
    const hashed = fingerprintFile(workbook.absolutePath, signal);
    hashed.catch(() => undefined); // awaited below; an early abort must not go unhandled

    const resumed = context.info.heartbeatDetails as LoadCheckpoint | undefined;
    const checkpoint: LoadCheckpoint = resumed ?? { sheet, rowNumber: 0, report: emptyDataQualityReport(), bytesRead: 0, totalBytes: 0 };
    if (resumed) context.log.info('resuming load after a retry', { sheet, rowNumber: resumed.rowNumber, rowsRead: resumed.report.rowsRead });

    const batches = readTransactionRows({
      filePath: workbook.absolutePath,
      displayName: workbook.displayName,
      sheet,
      reader,
      signal,
      onBytesRead: (bytesRead, totalBytes) => {
        checkpoint.bytesRead = bytesRead;
        checkpoint.totalBytes = totalBytes;
      },
    });
    for await (const { rows } of batches) {
      const pairs = new Map<string, { run_id: string; CustomerID: number; InvoiceNo: string }>();
      let lastRowNumber = checkpoint.rowNumber;
      for (const row of rows) {
        if (row.rowNumber <= checkpoint.rowNumber) continue;
        const cleaned = cleanTransaction(row);
        countRow(checkpoint.report, cleaned);
        if (cleaned.kept) {
          pairs.set(`${cleaned.customerId}\u0000${cleaned.invoiceNo}`, { run_id: runId, CustomerID: cleaned.customerId, InvoiceNo: cleaned.invoiceNo });
        }
        lastRowNumber = row.rowNumber;
      }
      await stagePairs(db, [...pairs.values()]);
      checkpoint.rowNumber = lastRowNumber;
      context.heartbeat(checkpoint);
      signal.throwIfAborted();
    }

    const { sha256 } = await hashed;
    if (sha256 !== fingerprint.sha256) throw changed({ sha256 });
    return checkpoint.report;
  };
}

/**
 * Adds pairs to the run's staging. A pair already there (a line of an invoice seen before, or a
 * batch repeated after a crash) is a no-op through the primary key; values that do not fit the
 * columns fail loudly, as strict mode intends (INSERT IGNORE would turn them into warnings).
 */
async function stagePairs(db: Knex, pairs: Array<{ run_id: string; CustomerID: number; InvoiceNo: string }>): Promise<void> {
  if (pairs.length === 0) return;
  await db(TABLES.stagingInvoices).insert(pairs).onConflict(['run_id', 'CustomerID', 'InvoiceNo']).merge(['run_id']);
}
