/**
 * Recognises the header row by its names, not its position: exports gain title rows, reorder
 * columns and add their own, and a positional reader would then read prices as quantities.
 */
import { TRANSACTION_COLUMNS, type TransactionColumn } from './transaction-columns';

export interface HeaderCell {
  columnNumber: number;
  text: string;
}

export interface HeaderMatch {
  /** Column number (1-based) of each transaction column found. */
  columnNumbers: Partial<Record<TransactionColumn, number>>;
  missing: TransactionColumn[];
  /** Transaction columns named more than once: reading either would be a guess. */
  duplicated: TransactionColumn[];
}

const COLUMN_BY_NORMALISED_NAME = new Map<string, TransactionColumn>(
  TRANSACTION_COLUMNS.map((column) => [normaliseName(column), column]),
);

export function matchTransactionHeader(cells: readonly HeaderCell[]): HeaderMatch {
  const columnNumbers: Partial<Record<TransactionColumn, number>> = {};
  const duplicated = new Set<TransactionColumn>();
  for (const { columnNumber, text } of cells) {
    const column = COLUMN_BY_NORMALISED_NAME.get(normaliseName(text));
    if (column === undefined) continue;
    if (columnNumbers[column] !== undefined) duplicated.add(column);
    else columnNumbers[column] = columnNumber;
  }
  const missing = TRANSACTION_COLUMNS.filter((column) => columnNumbers[column] === undefined);
  return { columnNumbers, missing, duplicated: [...duplicated] };
}

/** How many transaction columns a row names: tells a damaged header from a title row. */
export function recognisedCount(match: HeaderMatch): number {
  return TRANSACTION_COLUMNS.length - match.missing.length;
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase();
}
