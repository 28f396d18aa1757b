/**
 * lib/segmentation/rfm-scores.ts, the in-memory RFM scoring the dry run uses (the pipeline ranks
 * in MySQL: test/integration/rfm-segments.test.ts holds it to the same hand-made ties). Ties,
 * band edges and customers with no dated invoice.
 */
import { readRfmRules } from '../../lib/segmentation/rfm-rules';
import { InvalidInputError } from '../../lib/errors';
import { asOfAfter, assertAsOfNotBefore, centsOfAmount, centsText, daysBetween, scoreBand, scoreCustomers, type CustomerValues } from '../../lib/segmentation/rfm-scores';
import { centsOf, lineAmount } from '../support/plain-segmentation';
import { TIE_EXPECTED, TIE_LINES } from '../support/rfm-ties';

const rules = readRfmRules('', null);

/** TIE_LINES as the dry run sums them (the exact sums by the plain reference's arithmetic): per customer, its invoices, cents and newest day. */
function tieCustomers(): CustomerValues[] {
  const customers = new Map<number, { invoices: Set<string>; units: bigint; day: string | null }>();
  for (const { invoiceNo, customerId, quantity, unitPrice, invoiceDate } of TIE_LINES) {
    if (invoiceNo.startsWith('C') || Number(quantity) <= 0) continue;
    const customer = customers.get(customerId) ?? { invoices: new Set(), units: 0n, day: null };
    customer.invoices.add(invoiceNo);
    customer.units += lineAmount(quantity, unitPrice);
    const day = invoiceDate?.slice(0, 10) ?? null;
    if (day !== null && (customer.day === null || day > customer.day)) customer.day = day;
    customers.set(customerId, customer);
  }
  return [...customers].map(([customerId, { invoices, units, day }]) => ({
    customerId,
    purchaseCount: invoices.size,
    monetaryCents: centsOf(units),
    lastInvoiceDay: day,
  }));
}

const columns = (customer: ReturnType<typeof scoreCustomers>[number]) => ({
  CustomerID: customer.customerId,
  PurchaseCount: customer.purchaseCount,
  RecencyDays: customer.recencyDays,
  Monetary: centsText(customer.monetaryCents),
  RecencyScore: customer.recencyScore,
  FrequencyScore: customer.frequencyScore,
  MonetaryScore: customer.monetaryScore,
  RfmSegment: customer.segment,
});

test('the hand-made ties: equal values get equal scores, on each of the three values', () => {
  expect(scoreCustomers(tieCustomers(), '2011-12-10', rules).map(columns)).toEqual(TIE_EXPECTED);
});

test('the scores do not depend on the order customers come in', () => {
  const reversed = scoreCustomers(tieCustomers().reverse(), '2011-12-10', rules).map(columns);
  expect(reversed.sort((a, b) => a.CustomerID - b.CustomerID)).toEqual(TIE_EXPECTED);
});

test('band edges: 1 + floor(5 × L / N), in whole numbers', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((worse) => scoreBand(worse, 10))).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  expect([0, 1, 2].map((worse) => scoreBand(worse, 3))).toEqual([1, 2, 4]);
  expect(scoreBand(0, 1)).toBe(1);
  // Just below an edge stays below: 5 × 867 / 4338 = 0.9993...
  expect([scoreBand(867, 4338), scoreBand(868, 4338), scoreBand(4337, 4338)]).toEqual([1, 2, 5]);
});

test('everyone equal: every score is 1, whatever N', () => {
  const same = Array.from({ length: 7 }, (_, i) => ({ customerId: i + 1, purchaseCount: 2, monetaryCents: 500n, lastInvoiceDay: '2011-12-01' }));
  const scored = scoreCustomers(same, '2011-12-10', rules);
  expect(new Set(scored.map((c) => `${c.recencyScore}${c.frequencyScore}${c.monetaryScore}${c.segment}`))).toEqual(new Set(['111Hibernating']));
});

test('customers with no dated invoice are the least recent: RecencyDays null, below every dated customer, tied among themselves', () => {
  const customers: CustomerValues[] = [
    { customerId: 1, purchaseCount: 1, monetaryCents: 100n, lastInvoiceDay: null },
    { customerId: 2, purchaseCount: 1, monetaryCents: 100n, lastInvoiceDay: '2001-01-01' },
    { customerId: 3, purchaseCount: 1, monetaryCents: 100n, lastInvoiceDay: null },
    { customerId: 4, purchaseCount: 1, monetaryCents: 100n, lastInvoiceDay: '2011-12-09' },
    { customerId: 5, purchaseCount: 1, monetaryCents: 100n, lastInvoiceDay: '2011-12-09' },
  ];
  const scored = scoreCustomers(customers, '2011-12-10', rules);
  expect(scored.map((c) => [c.customerId, c.recencyDays, c.recencyScore])).toEqual([
    [1, null, 1],
    [2, 3995, 3],
    [3, null, 1],
    [4, 1, 4],
    [5, 1, 4],
  ]);
  // No as-of date (no invoice has a date): everyone is undated, so everyone is a 1.
  expect(scoreCustomers(customers, null, rules).map((c) => [c.recencyDays, c.recencyScore])).toEqual(customers.map(() => [null, 1]));
});

test('as-of dates and days count calendar days, in UTC, across month, year and leap-day ends', () => {
  expect(asOfAfter('2011-12-09T12:50:00')).toBe('2011-12-10');
  expect(asOfAfter('2011-12-31T23:59:59')).toBe('2012-01-01');
  expect(asOfAfter('2012-02-28T00:00:00')).toBe('2012-02-29');
  expect(asOfAfter('2011-02-28')).toBe('2011-03-01');
  expect(daysBetween('2011-12-09', '2011-12-10')).toBe(1);
  expect(daysBetween('2011-01-01', '2011-12-10')).toBe(343);
  expect(daysBetween('2012-02-28', '2012-03-01')).toBe(2);
  expect(daysBetween('2011-12-10', '2011-12-10')).toBe(0);
  expect(daysBetween('2011-12-11', '2011-12-10')).toBe(-1);
  // A far-future typo's next day is past MySQL's dates, not past JavaScript's (the audit holds such a run).
  expect(asOfAfter('9999-12-31T23:59:00')).toBe('10000-01-01');
  expect(daysBetween('9999-12-31', '10000-01-01')).toBe(1);
});

test("an as-of date before the newest invoice is the run's bad input, naming that invoice's day", () => {
  expect(() => assertAsOfNotBefore('2011-12-08', -1)).toThrow(
    new InvalidInputError('asOf', 'is 2011-12-08, before the newest invoice that counts (2011-12-09): RecencyDays cannot be negative; give that day or a later one, or leave asOf out'),
  );
  expect(() => assertAsOfNotBefore('2011-12-09', 0)).not.toThrow();
  expect(() => assertAsOfNotBefore(null, null)).not.toThrow();
});

test('cents of an exact amount (units of 10^-10) round half up; cents print as DECIMAL text', () => {
  const units = (tenDecimals: string) => BigInt(tenDecimals.replace('.', ''));
  expect(centsOfAmount(units('1.0050000000'))).toBe(101n);
  expect(centsOfAmount(units('1.0049999999'))).toBe(100n);
  expect(centsOfAmount(units('0.0050000000'))).toBe(1n);
  expect(centsOfAmount(-units('1.0050000000'))).toBe(-101n);
  expect(centsText(123_456n)).toBe('1234.56');
  expect(centsText(5n)).toBe('0.05');
  expect(centsText(-5n)).toBe('-0.05');
  expect(centsText(0n)).toBe('0.00');
});
