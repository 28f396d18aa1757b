/**
 * Recognises the header row by its names, not its position: exports gain title rows, reorder
 * columns and add their own, and a positional reader would then read prices as quantities.
 * Names match whatever their case and spacing ("Customer ID" is CustomerID), and the Online
 * Retail II export's names (UCI dataset 502: Invoice, Price, Customer ID) stand for the
 * original's.
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

/** Other names for a column, as other exports of the same data spell them. */
export const HEADER_ALIASES: Readonly<Record<string, TransactionColumn>> = {
  Invoice: 'InvoiceNo',
  Price: 'UnitPrice',
  'Customer ID': 'CustomerID',
};

const COLUMN_BY_NORMALISED_NAME = new Map<string, TransactionColumn>([
  ...TRANSACTION_COLUMNS.map((column) => [normaliseName(column), column] as const),
  ...Object.entries(HEADER_ALIASES).map(([alias, column]) => [normaliseName(alias), column] as const),
]);

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

/** "Customer ID", " customerid " and "CUSTOMER  ID" are one name. */
function normaliseName(name: string): string {
  return name.replace(/\s+/g, '').toLowerCase();
}
