/**
 * RFM scores, as defined in the README ("RFM segments"): each customer's recency, frequency and
 * monetary value banded 1–5 by percentile among the run's customers,
 * `1 + floor(5 × L / N)`, where N is the number of customers and L the number with a strictly worse
 * value (a smaller PurchaseCount, a smaller Monetary, a larger RecencyDays), so equal values always
 * get equal scores; the segment comes from the recency and frequency scores (rfm-rules.ts).
 *
 * The pipeline computes them in MySQL, with RANK() (activities/aggregate-purchases.ts); this is
 * the same definition in memory, for the dry run. Pure: no I/O.
 */
import { InvalidInputError } from '../errors';
import { segmentOf, type RfmRules } from './rfm-rules';

const DAY_MS = 86_400_000;

export interface CustomerValues {
  customerId: number;
  purchaseCount: number;
  /** Monetary in cents (already rounded half up). */
  monetaryCents: bigint;
  /** The calendar day (YYYY-MM-DD) of the customer's newest invoice; null if none of them has a date. */
  lastInvoiceDay: string | null;
}

export interface CustomerRfm extends CustomerValues {
  /** Null for a customer with no dated invoice, who counts as the least recent. */
  recencyDays: number | null;
  recencyScore: number;
  frequencyScore: number;
  monetaryScore: number;
  segment: string;
}

/** The band of a value with `worse` customers strictly worse, among `customers`. */
export function scoreBand(worse: number, customers: number): number {
  return 1 + Math.floor((5 * worse) / customers);
}

/** The as-of date of a run whose data date (newest invoice) is `dataDate` (ISO): the day after it. */
export function asOfAfter(dataDate: string): string {
  return addDays(dataDate.slice(0, 10), 1);
}

/** The day `days` after `day` (YYYY-MM-DD). */
export function addDays(day: string, days: number): string {
  return dayText(dayNumber(day) + days);
}

/**
 * An as-of date before the newest invoice that counts would make RecencyDays negative: the run's
 * bad input. `fewestDays` is the smallest RecencyDays it gave.
 */
export function assertAsOfNotBefore(asOf: string | null, fewestDays: number | null): void {
  if (asOf === null || fewestDays === null || fewestDays >= 0) return;
  throw new InvalidInputError(
    'asOf',
    `is ${asOf}, before the newest invoice that counts (${addDays(asOf, -fewestDays)}): RecencyDays cannot be negative; give that day or a later one, or leave asOf out`,
  );
}

/** Whole days from `day` to `asOf` (both YYYY-MM-DD; years past 9999 too, as a far-future typo makes). */
export function daysBetween(day: string, asOf: string): number {
  return dayNumber(asOf) - dayNumber(day);
}

/** Days since 1970-01-01 of a YYYY-MM-DD text (the year may have more than four digits). */
function dayNumber(day: string): number {
  const [, year, month, date] = /^(\d{4,})-(\d{2})-(\d{2})$/.exec(day) ?? [];
  if (year === undefined) throw new Error(`not a day: ${day}`);
  return Date.UTC(Number(year), Number(month) - 1, Number(date)) / DAY_MS;
}

function dayText(days: number): string {
  const date = new Date(days * DAY_MS);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

export function scoreCustomers(customers: CustomerValues[], asOf: string | null, rules: RfmRules): CustomerRfm[] {
  const n = customers.length;
  const withDays = customers.map((customer) => ({
    ...customer,
    recencyDays: customer.lastInvoiceDay === null || asOf === null ? null : daysBetween(customer.lastInvoiceDay, asOf),
  }));
  // L of each value: the number of customers strictly worse, i.e. its first position when sorted worst first.
  const bands = <T extends number | bigint | null>(values: T[], worseFirst: (a: T, b: T) => number): Map<T, number> => {
    const sorted = [...values].sort(worseFirst);
    const band = new Map<T, number>();
    sorted.forEach((value, index) => {
      if (!band.has(value)) band.set(value, scoreBand(index, n));
    });
    return band;
  };
  // Worst first: no date at all, then the most days since the newest invoice.
  const recency = bands<number | null>(
    withDays.map((c) => c.recencyDays),
    (a, b) => (a === null || b === null ? Number(b === null) - Number(a === null) : b - a),
  );
  const frequency = bands(
    withDays.map((c) => c.purchaseCount),
    (a, b) => a - b,
  );
  const monetary = bands(
    withDays.map((c) => c.monetaryCents),
    (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  );
  return withDays.map((customer) => {
    const recencyScore = recency.get(customer.recencyDays)!;
    const frequencyScore = frequency.get(customer.purchaseCount)!;
    return {
      ...customer,
      recencyScore,
      frequencyScore,
      monetaryScore: monetary.get(customer.monetaryCents)!,
      segment: segmentOf(rules, recencyScore, frequencyScore),
    };
  });
}

/** Cents, rounded half up, of an amount in units of 10^-10 (lib/aggregation/invoice-amount.ts). */
export function centsOfAmount(units: bigint): bigint {
  const perCent = 10n ** 8n;
  return units >= 0n ? (units + perCent / 2n) / perCent : -((-units + perCent / 2n) / perCent);
}

/** Cents as DECIMAL text, e.g. 123456n → "1234.56". */
export function centsText(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const magnitude = cents < 0n ? -cents : cents;
  return `${sign}${magnitude / 100n}.${(magnitude % 100n).toString().padStart(2, '0')}`;
}
