/**
 * Turns a cell's plain value into what its column means. Exports store the same column as numbers
 * on one row and as text on the next (`17850` and `'17850'`), so numeric text is accepted; a value
 * that cannot be what the column means, or that would not fit the MySQL columns it ends up in
 * (lib/segmentation/business-keys.ts), is bad input, reported with what was expected.
 */
import * as businessKeys from '../segmentation/business-keys';
import type { PlainCellValue } from './plain-cell-value';

// Plain locals: tsx compiles imports to getter calls, paid on every row otherwise.
const { CUSTOMER_ID_MAX, INVOICE_NO_MAX_LENGTH } = businessKeys;

/** Thrown with what the column expected; the reader adds the file, sheet, row and column. */
export class UnexpectedCellValue extends Error {
  constructor(readonly expected: string) {
    super(expected);
  }
}

/** Plain decimal notation only: `Number()` alone would also take '0x1A', 'Infinity' and ' '. */
const DECIMAL_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Invoice numbers are identifiers: 536365 stored as a number is the invoice '536365'. Text is
 * kept exactly as trimmed (case and inner spaces count), and must fit INVOICE_NO_MAX_LENGTH.
 */
export function decodeInvoiceNo(value: PlainCellValue): string | null {
  if (value === null) return null;
  let invoiceNo: string;
  if (typeof value === 'string') invoiceNo = value;
  else if (typeof value === 'number' && Number.isFinite(value)) invoiceNo = String(value);
  else throw new UnexpectedCellValue('expected an invoice number');
  if (invoiceNo.length > INVOICE_NO_MAX_LENGTH && [...invoiceNo].length > INVOICE_NO_MAX_LENGTH) {
    throw new UnexpectedCellValue(`expected an invoice number of at most ${INVOICE_NO_MAX_LENGTH} characters`);
  }
  return invoiceNo;
}

/** Quantity and UnitPrice: any finite number, negative ones included (cleaning decides about those). */
export function decodeNumber(value: PlainCellValue): number | null {
  if (value === null) return null;
  const number = typeof value === 'number' ? value : typeof value === 'string' && DECIMAL_NUMBER.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(number)) throw new UnexpectedCellValue('expected a number');
  return number;
}

/** Customer numbers are whole, 0 to CUSTOMER_ID_MAX; '17850.0' (a float export) is still 17850. */
export function decodeCustomerId(value: PlainCellValue): number | null {
  if (value === null) return null;
  const number = typeof value === 'number' ? value : typeof value === 'string' && DECIMAL_NUMBER.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < 0 || number > CUSTOMER_ID_MAX) {
    throw new UnexpectedCellValue(`expected a customer number (a whole number from 0 to ${CUSTOMER_ID_MAX})`);
  }
  return number;
}
