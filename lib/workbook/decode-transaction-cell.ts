/**
 * Turns a cell's plain value into what its column means. Exports store the same column as numbers
 * on one row and as text on the next (`17850` and `'17850'`), so numeric text is accepted; a value
 * that cannot be what the column means, or that would not fit the MySQL columns it ends up in
 * (lib/segmentation/business-keys.ts), is bad input, reported with what was expected.
 */
import { CUSTOMER_ID_MAX, INVOICE_NO_MAX_LENGTH } from '../segmentation/business-keys';
import type { PlainCellValue } from './plain-cell-value';

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

/** Days between Excel's 1900 and 1904 date systems: a 1904 workbook's serial plus this is a 1900 serial. */
export const DATE_1904_OFFSET_DAYS = 1_462;
/** Excel's own range: serial 1 is 1900-01-01, 2,958,465 is 9999-12-31. */
const LAST_SERIAL = 2_958_466;
const UNIX_EPOCH_SERIAL = 25_569;
const DAY_MS = 86_400_000;
/** ISO text (`2011-12-09`, `2011-12-09 12:50`, `2011-12-09T12:50:00`) and the UCI CSV's `12/9/2011 12:50` (month first). */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const US_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * InvoiceDate as an Excel date serial in the 1900 system (days since 1899-12-30, the fraction is
 * the time of day): what a date cell stores, so comparing two dates is comparing two numbers and
 * the reader pays nothing per row for calendars. Excel dates carry no time zone; neither does this.
 */
export function decodeInvoiceDate(value: PlainCellValue, date1904: boolean): number | null {
  if (value === null) return null;
  let serial: number;
  if (typeof value === 'number') serial = date1904 ? value + DATE_1904_OFFSET_DAYS : value;
  else if (value instanceof Date) serial = value.getTime() / DAY_MS + UNIX_EPOCH_SERIAL;
  else if (typeof value === 'string') serial = serialOfText(value);
  else serial = NaN;
  if (!(serial >= 1 && serial < LAST_SERIAL)) throw new UnexpectedCellValue('expected a date (a date cell, or text such as 2011-12-09 12:50)');
  return serial;
}

/** A date serial as ISO text to the second (`2011-12-09T12:50:00`), for records and messages. */
export function isoOfSerial(serial: number): string {
  const ms = Math.round(((serial - UNIX_EPOCH_SERIAL) * DAY_MS) / 1000) * 1000;
  return new Date(ms).toISOString().slice(0, 19);
}

/**
 * The last date text and its serial: a CSV export spells an invoice's date once per line, and an
 * invoice's lines come together, so most rows repeat the row before (parsing took a third of
 * reading the UCI CSV before this).
 */
let lastDateText = '';
let lastDateSerial = NaN;

function serialOfText(text: string): number {
  if (text !== lastDateText) {
    lastDateSerial = parseDateText(text);
    lastDateText = text;
  }
  return lastDateSerial;
}

function parseDateText(text: string): number {
  const iso = ISO_DATE.exec(text);
  const us = iso ? undefined : US_DATE.exec(text);
  if (!iso && !us) return NaN;
  const [year, month, day] = iso ? [iso[1], iso[2], iso[3]].map(Number) : [us![3], us![1], us![2]].map(Number);
  const [hours, minutes, seconds] = (iso ? iso.slice(4, 7) : us!.slice(4, 7)).map((part) => Number(part ?? 0));
  const ms = Date.UTC(year, month - 1, day, hours, minutes, seconds);
  const date = new Date(ms);
  // Date.UTC rolls 2011-02-30 over to March: a day that does not exist is not a date.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hours > 23 || minutes > 59 || seconds > 59) return NaN;
  return ms / DAY_MS + UNIX_EPOCH_SERIAL;
}
