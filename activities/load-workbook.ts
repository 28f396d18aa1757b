/**
 * Step 1b, load and clean one sheet of one workbook: streams its rows (memory does not grow with
 * its size), applies the cleaning rules, and keeps in MySQL staging, per batch of rows, each
 * (CustomerID, InvoiceNo) with its lines' newest date and exact amount (Quantity × UnitPrice) for
 * the next step. Returns the sheet's data-quality report, never rows.
 *
 * It heartbeats after each batch it has written, with the last row number and the report so far;
 * a retried attempt skips the rows already in staging and carries the counts on. It first
 * deletes its part's batches past that row (staged after the last heartbeat), so no line's amount
 * is ever added twice. It only resumes
 * on the very bytes it started on: the file's size and time must be the load plan's, and a
 * resumed attempt also checks the sha256. Each insert is fenced: an attempt superseded by a newer
 * one (or planned by a plan that was run again since) stages nothing.
 */
import { Context } from '@temporalio/activity';
import { cleanTransaction } from '../lib/cleaning/clean-transaction';
import { countRow, emptyDataQualityReport, type DataQualityReport } from '../lib/cleaning/data-quality-report';
import { resolveWorkbookPath } from '../lib/data-dir';
import { amountText, lineAmount } from '../lib/aggregation/invoice-amount';
import { InvalidWorkbookError, WorkbookChangedError } from '../lib/errors';
import { dateColumnOfIso } from '../lib/publication/published-run';
import { describeChange, fingerprintFile, sizeAndTime, type FileFingerprint } from '../lib/file-fingerprint';
import { TABLES } from '../lib/tables';
import { isoOfSerial } from '../lib/workbook/decode-transaction-cell';
import { readTransactionRows, type WorkbookReaderKind } from '../lib/workbook/read-transaction-rows';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { holdRowsToRunLimit, loadPartKey, resolveRunLimits } from './run-limits';
import { claimStepAttempt, FENCED_WAIT_BEAT_MS, type StepFence } from './step-attempt-fence';

export interface LoadWorkbookPartInput {
  runId: string;
  file: string;
  sheet: string;
  fingerprint: FileFingerprint;
  reader: WorkbookReaderKind;
  /** The file's place among the run's files: of an invoice in two files, the later file's lines count. */
  fileNo?: number;
}

/** Heartbeat details: how far the rows in staging go, and the counts up to there. */
export interface LoadCheckpoint {
  sheet: string;
  rowNumber: number;
  report: DataQualityReport;
  bytesRead: number;
  totalBytes: number;
}

/** One invoice's kept lines within one batch. */
interface BatchInvoice {
  customerId: number;
  invoiceNo: string;
  /** The newest line's date serial (0: no line had a date). */
  newestDate: number;
  /** Σ Quantity × UnitPrice, in units of 10^-10. */
  amount: bigint;
}

/** A line's amount past this is not a retail line but a broken cell: refused, so that invoices' sums fit DECIMAL(30,10). */
const MAX_LINE_AMOUNT = 1e12;

/** Distinct pairs per INSERT, at most. */
const PAIRS_PER_INSERT = 5_000;
/** Rows read between checkpoints, at most: what a retry after a crash reads again. */
const ROWS_PER_CHECKPOINT = 50_000;

export function createLoadWorkbookPart(dependencies: ActivityDependencies) {
  const { db, dataDir, runLimits } = dependencies;
  const limits = resolveRunLimits(runLimits);
  return async function loadWorkbookPart({ runId, file, sheet, fingerprint, reader, fileNo = 0 }: LoadWorkbookPartInput): Promise<DataQualityReport> {
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
    const partKey = loadPartKey(file, sheet);
    // Batches an earlier attempt staged past the checkpoint are read again below: theirs go first.
    // Beating while a write waits (behind a dead attempt's locks until MySQL ends its session), with
    // the checkpoint staged so far: a heartbeat without it would make the next attempt start over.
    await heartbeatWhile(
      fence.write((trx) => trx(TABLES.stagingInvoices).where({ run_id: runId, part_key: partKey }).andWhere('through_row', '>', resumeAfter).delete()),
      () => resumed,
      { atMostMs: FENCED_WAIT_BEAT_MS },
    );
    /** Read and counted so far (the heartbeat only says so once the pairs up to there are staged). */
    // A copy of the checkpoint resumed from, never the object itself: reading moves `read` on while
    // `staged` (the resumed checkpoint until the first flush is staged) must stay where it was, or a
    // heartbeat would promise rows that are not in staging, and a retry after it would skip them.
    const read: LoadCheckpoint = resumed ? structuredClone(resumed) : { sheet, rowNumber: 0, report: emptyDataQualityReport(), bytesRead: 0, totalBytes: 0 };
    let pairs = new Map<string, BatchInvoice>();
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
      const reached: LoadCheckpoint = { ...read, report: structuredClone(read.report) };
      const batch = [...pairs.values()].map((invoice) => ({
        run_id: runId,
        CustomerID: invoice.customerId,
        InvoiceNo: invoice.invoiceNo,
        part_key: partKey,
        file_no: fileNo,
        through_row: reached.rowNumber,
        InvoiceDate: invoice.newestDate > 0 ? dateColumnOfIso(isoOfSerial(invoice.newestDate)) : null,
        Amount: amountText(invoice.amount),
      }));
      pairs = new Map();
      rowsSinceFlush = 0;
      await staging;
      // The run's rows are counted before these pairs are staged: past maxRows, the load stops here.
      const counted = { runId, file, sheet, rowsRead: reached.report.rowsRead, rowNumber: reached.rowNumber };
      staging = heartbeatWhile(holdRowsToRunLimit(db, counted, limits.maxRows).then(() => stagePairs(fence, batch)), () => staged, { atMostMs: FENCED_WAIT_BEAT_MS }).then(() => {
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
          // Kept rows have a positive quantity and price.
          const quantity = row.quantity!;
          const unitPrice = row.unitPrice!;
          if (quantity * unitPrice > MAX_LINE_AMOUNT) {
            throw new InvalidWorkbookError(
              { file: workbook.displayName, sheet, row: row.rowNumber, column: 'UnitPrice' },
              `Quantity × UnitPrice is ${quantity * unitPrice}, past ${MAX_LINE_AMOUNT} for one line`,
            );
          }
          const key = `${cleaned.customerId}\u0000${cleaned.invoiceNo}`;
          let invoice = pairs.get(key);
          if (invoice === undefined) {
            invoice = { customerId: cleaned.customerId, invoiceNo: cleaned.invoiceNo, newestDate: 0, amount: 0n };
            pairs.set(key, invoice);
          }
          invoice.amount += lineAmount(quantity, unitPrice);
          if (row.invoiceDate !== null) {
            if (row.invoiceDate > invoice.newestDate) invoice.newestDate = row.invoiceDate;
            if (row.invoiceDate > newestInvoiceDate) newestInvoiceDate = row.invoiceDate;
          }
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
    // Counted once the sheet is loaded: a retried attempt's report carries the earlier ones' counts on.
    dependencies.metrics?.rowsLoaded(read.report);
    return read.report;
  };
}

/**
 * Adds one batch's invoices to the run's staging. The batch is keyed by its part and last row, so
 * the only way to meet a row already there is a stale write of the same batch (replaced as it is);
 * values that do not fit the columns fail loudly, as strict mode intends (INSERT IGNORE would turn
 * them into warnings).
 */
async function stagePairs(fence: StepFence, invoices: object[]): Promise<void> {
  if (invoices.length === 0) return;
  await fence.write((trx) =>
    trx(TABLES.stagingInvoices).insert(invoices).onConflict(['run_id', 'CustomerID', 'InvoiceNo', 'part_key', 'through_row']).merge(['InvoiceDate', 'Amount', 'file_no']),
  );
}
