/**
 * Step 1b, load and clean one sheet of one workbook: streams its rows (memory does not grow with
 * its size), applies the cleaning rules, and keeps the distinct (CustomerID, InvoiceNo) pairs in
 * MySQL staging for the next step. Returns the sheet's data-quality report, never rows.
 *
 * It heartbeats after each batch it has written, with the last row number and the report so far;
 * a retried attempt skips the rows already in staging and carries the counts on. It only resumes
 * on the very bytes it started on: the file's size and time must be the load plan's, and a
 * resumed attempt also checks the sha256. Each insert is fenced: an attempt superseded by a newer
 * one (or planned by a plan that was run again since) stages nothing.
 */
import { Context } from '@temporalio/activity';
import { cleanTransaction } from '../lib/cleaning/clean-transaction';
import { countRow, emptyDataQualityReport, type DataQualityReport } from '../lib/cleaning/data-quality-report';
import { resolveWorkbookPath } from '../lib/data-dir';
import { WorkbookChangedError } from '../lib/errors';
import { describeChange, fingerprintFile, sizeAndTime, type FileFingerprint } from '../lib/file-fingerprint';
import { TABLES } from '../lib/tables';
import { isoOfSerial } from '../lib/workbook/decode-transaction-cell';
import { readTransactionRows, type WorkbookReaderKind } from '../lib/workbook/read-transaction-rows';
import type { ActivityDependencies } from './activity-dependencies';
import { holdRowsToRunLimit, resolveRunLimits } from './run-limits';
import { claimStepAttempt, type StepFence } from './step-attempt-fence';

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

interface StagedPair {
  run_id: string;
  CustomerID: number;
  InvoiceNo: string;
}

/** Distinct pairs per INSERT, at most. */
const PAIRS_PER_INSERT = 5_000;
/** Rows read between checkpoints, at most: what a retry after a crash reads again. */
const ROWS_PER_CHECKPOINT = 50_000;

export function createLoadWorkbookPart(dependencies: ActivityDependencies) {
  const { db, dataDir, runLimits } = dependencies;
  const limits = resolveRunLimits(runLimits);
  return async function loadWorkbookPart({ runId, file, sheet, fingerprint, reader }: LoadWorkbookPartInput): Promise<DataQualityReport> {
    const context = Context.current();
    const fence = await claimStepAttempt(dependencies, runId, 'load', `${file}/${sheet}`);
    const signal = context.cancellationSignal;
    const workbook = resolveWorkbookPath(dataDir, file);
    const changed = (now: Partial<FileFingerprint>) =>
      new WorkbookChangedError(
        `file "${file}" changed since this run planned its load (${describeChange(fingerprint, now)}); ` +
          'send retry to load the new version from the start, or start a new run',
      );
    const now = await sizeAndTime(workbook.absolutePath);
    if (now.size !== fingerprint.size || now.mtime !== fingerprint.mtime) throw changed(now);
    const resumed = context.info.heartbeatDetails as LoadCheckpoint | undefined;
    if (resumed) {
      // Resuming by row number is only right on the very same bytes: the hash decides. (A first
      // attempt reads the file the plan hashed a moment ago; size and time are its check.)
      const { sha256 } = await fingerprintFile(workbook.absolutePath, signal);
      if (sha256 !== fingerprint.sha256) throw changed({ sha256 });
    }

    if (resumed) context.log.info('resuming load after a retry', { sheet, rowNumber: resumed.rowNumber, rowsRead: resumed.report.rowsRead });
    const resumeAfter = resumed?.rowNumber ?? 0;
    /** Read and counted so far (the heartbeat only says so once the pairs up to there are staged). */
    const read: LoadCheckpoint = resumed ?? { sheet, rowNumber: 0, report: emptyDataQualityReport(), bytesRead: 0, totalBytes: 0 };
    let pairs = new Map<string, StagedPair>();
    let rowsSinceFlush = 0;
    /** The newest kept InvoiceDate as a date serial: compared per row, turned into text per checkpoint. */
    let newestInvoiceDate = 0;
    // One insert at a time, in row order, while the next rows are read: MySQL's round trips overlap
    // the parsing instead of adding to it.
    let staging: Promise<void> = Promise.resolve();
    /** The last checkpoint whose pairs are in MySQL: what a heartbeat may promise. */
    let staged: LoadCheckpoint | undefined = resumed;
    const flush = async () => {
      const newest = newestInvoiceDate > 0 ? isoOfSerial(newestInvoiceDate) : undefined;
      // A resumed attempt starts from the checkpoint's date: the greater of the two (ISO text orders like dates).
      if (newest !== undefined && !(read.report.newestInvoiceDate! >= newest)) read.report.newestInvoiceDate = newest;
      const batch = [...pairs.values()];
      const reached: LoadCheckpoint = { ...read, report: structuredClone(read.report) };
      pairs = new Map();
      rowsSinceFlush = 0;
      await staging;
      // The run's rows are counted before these pairs are staged: past maxRows, the load stops here.
      const counted = { runId, file, sheet, rowsRead: reached.report.rowsRead, rowNumber: reached.rowNumber };
      staging = holdRowsToRunLimit(db, counted, limits.maxRows).then(() => stagePairs(fence, batch)).then(() => {
        staged = reached;
        context.heartbeat(staged);
      });
      staging.catch(() => undefined); // awaited by the next flush or at the end
    };

    const batches = readTransactionRows({
      filePath: workbook.absolutePath,
      displayName: workbook.displayName,
      sheet,
      reader,
      limits,
      signal,
      onBytesRead: (bytesRead, totalBytes) => {
        read.bytesRead = bytesRead;
        read.totalBytes = totalBytes;
      },
    });
    for await (const { rows } of batches) {
      for (const row of rows) {
        if (row.rowNumber <= resumeAfter) continue;
        const cleaned = cleanTransaction(row);
        countRow(read.report, cleaned);
        if (cleaned.kept) {
          pairs.set(`${cleaned.customerId}\u0000${cleaned.invoiceNo}`, { run_id: runId, CustomerID: cleaned.customerId, InvoiceNo: cleaned.invoiceNo });
          if (row.invoiceDate !== null && row.invoiceDate > newestInvoiceDate) newestInvoiceDate = row.invoiceDate;
        }
        read.rowNumber = row.rowNumber;
        rowsSinceFlush += 1;
      }
      if (pairs.size >= PAIRS_PER_INSERT || rowsSinceFlush >= ROWS_PER_CHECKPOINT) await flush();
      // Between checkpoints too (the last one again): a cancel arrives with a heartbeat's answer.
      else context.heartbeat(staged);
      signal.throwIfAborted();
    }
    await flush();
    await staging;
    return read.report;
  };
}

/**
 * Adds pairs to the run's staging. A pair already there (a line of an invoice seen before, or a
 * batch repeated after a crash) is a no-op through the primary key; values that do not fit the
 * columns fail loudly, as strict mode intends (INSERT IGNORE would turn them into warnings).
 */
async function stagePairs(fence: StepFence, pairs: StagedPair[]): Promise<void> {
  if (pairs.length === 0) return;
  await fence.write((trx) => trx(TABLES.stagingInvoices).insert(pairs).onConflict(['run_id', 'CustomerID', 'InvoiceNo']).merge(['run_id']));
}
