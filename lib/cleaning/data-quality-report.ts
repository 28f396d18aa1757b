/**
 * How many rows were read, kept and dropped for each reason. Plain numbers only: the report travels
 * in Temporal heartbeats and is stored in a MySQL JSON column, so it must survive JSON round trips.
 * Imported by workflow code (to merge the parts of a fanned-out load): no Node, no I/O.
 */
import type { CleanedTransaction } from './clean-transaction';
import { DROP_REASONS, type DropReason } from './drop-reason';

export interface DataQualityReport {
  rowsRead: number;
  rowsKept: number;
  rowsDropped: Record<DropReason, number>;
  /**
   * The newest InvoiceDate among the kept rows (ISO, to the second, no time zone: as the workbook
   * has it): the data's own date, which orders publication. Absent when no kept row has a date.
   */
  newestInvoiceDate?: string;
  /** Per sheet read (after a load of several sheets or files). */
  sheetsRead?: Array<{ file: string; sheet: string; rowsRead: number; rowsKept: number }>;
  /** Sheets without a transactions header, which were not read. */
  skippedSheets?: Array<{ file: string; sheet: string; reason: string }>;
}

export function emptyDataQualityReport(): DataQualityReport {
  const rowsDropped = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>;
  return { rowsRead: 0, rowsKept: 0, rowsDropped };
}

/** Counts one cleaned row into the report (mutates it: it is called once per row). */
export function countRow(report: DataQualityReport, result: CleanedTransaction): void {
  report.rowsRead += 1;
  if (result.kept) report.rowsKept += 1;
  else report.rowsDropped[result.reason] += 1;
}

/** One report for a run loaded in parts (one per sheet or file): the counts added up, each part named. */
export function mergeDataQualityReports(
  parts: Array<{ file: string; sheet: string; report: DataQualityReport }>,
  skippedSheets: Array<{ file: string; sheet: string; reason: string }> = [],
): DataQualityReport {
  const merged = emptyDataQualityReport();
  for (const { report } of parts) {
    merged.rowsRead += report.rowsRead;
    merged.rowsKept += report.rowsKept;
    for (const reason of DROP_REASONS) merged.rowsDropped[reason] += report.rowsDropped[reason];
    // Fixed-width ISO text: the newer date is the greater string.
    if (report.newestInvoiceDate !== undefined && !(merged.newestInvoiceDate! >= report.newestInvoiceDate)) merged.newestInvoiceDate = report.newestInvoiceDate;
  }
  merged.sheetsRead = parts.map(({ file, sheet, report }) => ({ file, sheet, rowsRead: report.rowsRead, rowsKept: report.rowsKept }));
  merged.skippedSheets = skippedSheets;
  return merged;
}
