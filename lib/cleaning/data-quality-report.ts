/**
 * How many rows were read, kept and dropped for each reason. Plain numbers only: the report travels
 * in Temporal heartbeats and is stored in a MySQL JSON column, so it must survive JSON round trips.
 */
import type { CleanedTransaction } from './clean-transaction';
import { DROP_REASONS, type DropReason } from './drop-reason';

export interface DataQualityReport {
  rowsRead: number;
  rowsKept: number;
  rowsDropped: Record<DropReason, number>;
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
