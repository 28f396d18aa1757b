/**
 * Turns a flattened cell into what its column means. Exports store the same column as numbers on
 * one row and as text on the next (`17850` and `'17850'`), so numeric text is accepted; a value that
 * cannot be what the column means is bad input, reported with what was expected.
 */
import type { PlainCellValue } from './plain-cell-value';

/** Thrown with what the column expected; the reader adds the file, sheet, row and column. */
export class UnexpectedCellValue extends Error {
  constructor(readonly expected: string) {
    super(expected);
  }
}

/** Plain decimal notation only: `Number()` alone would also take '0x1A', 'Infinity' and ' '. */
const DECIMAL_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** Invoice numbers are identifiers: 536365 stored as a number is the invoice '536365'. */
export function decodeInvoiceNo(value: PlainCellValue): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new UnexpectedCellValue('expected an invoice number');
}

/** Quantity and UnitPrice: any finite number, negative ones included (cleaning decides about those). */
export function decodeNumber(value: PlainCellValue): number | null {
  if (value === null) return null;
  const number = typeof value === 'number' ? value : typeof value === 'string' && DECIMAL_NUMBER.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(number)) throw new UnexpectedCellValue('expected a number');
  return number;
}

/** Customer numbers are whole and not negative; '17850.0' (a float export) is still 17850. */
export function decodeCustomerId(value: PlainCellValue): number | null {
  if (value === null) return null;
  const number = typeof value === 'number' ? value : typeof value === 'string' && DECIMAL_NUMBER.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new UnexpectedCellValue('expected a customer number (a whole number, 0 or more)');
  }
  return number;
}
