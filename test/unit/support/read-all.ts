/** Reads a whole workbook in a test: every row of every batch, or the InvalidWorkbookError it fails with. */
import { InvalidWorkbookError } from '../../../lib/errors';
import { readTransactionRows, type ReadTransactionRowsOptions, type TransactionRow } from '../../../lib/workbook/read-transaction-rows';

/** A row's four purchase columns; InvoiceDate, the data's date, has tests of its own (invoice-date.test.ts). */
export type PurchaseColumns = Omit<TransactionRow, 'invoiceDate'>;

export async function readAll(options: ReadTransactionRowsOptions): Promise<PurchaseColumns[]> {
  return (await readAllWithDates(options)).map(withoutDate);
}

export async function readAllWithDates(options: ReadTransactionRowsOptions): Promise<TransactionRow[]> {
  const rows: TransactionRow[] = [];
  for await (const batch of readTransactionRows(options)) rows.push(...batch.rows);
  return rows;
}

export function withoutDate({ invoiceDate: _date, ...row }: TransactionRow): PurchaseColumns {
  return row;
}

/** The error a read fails with; fails the test if the read succeeds or throws something untyped. */
export async function readError(options: ReadTransactionRowsOptions): Promise<InvalidWorkbookError> {
  try {
    await readAll(options);
  } catch (error) {
    if (error instanceof InvalidWorkbookError) return error;
    throw error;
  }
  throw new Error('expected the read to fail');
}
