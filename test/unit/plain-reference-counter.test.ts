/**
 * The plain reference counter (test/support/plain-segmentation.ts) that works out the real UCI
 * workbook's reference figures from the same rows as CSV, with code that shares nothing with the
 * reader or the cleaning rules. Its run on the real files, and the workbook's preview held to its
 * figures, read all 541,909 rows: test/real-data/online-retail-figures.test.ts.
 */
import { centsOf, centsText, lineAmount, parseDecimal, plainFigures, plainRfm, plainSegment, PLAIN_SEGMENT_NAMES, splitCsvLine } from '../support/plain-segmentation';
import { TIE_EXPECTED, tiePlainRows } from '../support/rfm-ties';

describe('the plain reference counter', () => {
  it('splits quoted CSV fields with commas and doubled quotes', () => {
    expect(splitCsvLine('536381,82567,"AIRLINE LOUNGE,METAL SIGN",2')).toEqual(['536381', '82567', 'AIRLINE LOUNGE,METAL SIGN', '2']);
    expect(splitCsvLine('536544,90214D,"LETTER ""D"" BLING KEY RING",1,,')).toEqual(['536544', '90214D', 'LETTER "D" BLING KEY RING', '1', '', '']);
  });

  it('drops each row under the first rule it breaks and counts distinct invoices', async () => {
    const row = (invoiceNo: string, customerId: string, quantity = '1', unitPrice = '1') => ({ invoiceNo, customerId, quantity, unitPrice, invoiceDate: '2011-01-02 03:04:00' });
    const figures = await plainFigures([
      row('C1', ''), // no customer first, though also a cancellation
      row('', '1'),
      row('c2', '1'),
      row('3', '1', '0'),
      row('3', '1', '1', '-1'),
      ...['4', '4', '5', '6', '7', '8', '9'].map((invoice) => row(invoice, '2')),
      row('4', '3'),
    ]);
    expect(figures).toMatchObject({
      rowsRead: 13,
      rowsKept: 8,
      rowsDropped: { missingCustomerId: 1, missingInvoiceNo: 1, cancellation: 1, nonPositiveQuantity: 1, nonPositiveUnitPrice: 1 },
      newestInvoiceDate: '2011-01-02T03:04:00',
      customers: 2,
      low: 1,
      high: 1,
      purchases: 7,
    });
  });

  it('multiplies the cells\' decimal text exactly and rounds the sum half up to cents, once', () => {
    expect(parseDecimal('2.55')).toEqual({ digits: 255n, decimals: 2 });
    expect(parseDecimal('-12')).toEqual({ digits: -12n, decimals: 0 });
    expect(lineAmount('3', '2.55')).toBe(765_000n);
    expect(lineAmount('100', '0.333')).toBe(3_330_000n);
    // 1.005 is 1.00499999999999989... as a double: exact decimals round it up.
    expect(centsText(centsOf(lineAmount('1', '1.005')))).toBe('1.01');
    expect(centsText(centsOf(lineAmount('1', '1.004')))).toBe('1.00');
    expect(centsText(centsOf(lineAmount('1', '0.5') + lineAmount('1', '0.504')))).toBe('1.00');
    expect(centsText(centsOf(['0.1', '0.1', '0.1'].reduce((sum, price) => sum + lineAmount('1', price), 0n)))).toBe('0.30');
    expect(centsText(123_456n)).toBe('1234.56');
    expect(centsText(5n)).toBe('0.05');
    // What it cannot do exactly it refuses, rather than rounding.
    expect(() => parseDecimal('1e3')).toThrow(/not a plain decimal/);
    expect(() => parseDecimal('2,5')).toThrow(/not a plain decimal/);
    expect(() => lineAmount('1.25', '0.0001')).toThrow(/more than 5 decimals/);
    expect(() => centsOf(-1n)).toThrow(/negative/);
  });

  it("maps every score pair to the issue's ten names", () => {
    const grid = [1, 2, 3, 4, 5].map((recency) => [1, 2, 3, 4, 5].map((frequency) => plainSegment(recency, frequency)));
    expect(grid).toEqual([
      ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"],
      ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"],
      ['About To Sleep', 'About To Sleep', 'Need Attention', 'Loyal Customers', 'Loyal Customers'],
      ['Promising', 'Potential Loyalists', 'Potential Loyalists', 'Loyal Customers', 'Loyal Customers'],
      ['New Customers', 'Potential Loyalists', 'Potential Loyalists', 'Champions', 'Champions'],
    ]);
    expect(new Set(grid.flat())).toEqual(new Set(PLAIN_SEGMENT_NAMES));
  });

  it('works out the hand-made ties: equal values get equal scores, undated customers are the least recent', async () => {
    const rfm = plainRfm(await plainFigures(tiePlainRows()));
    expect(rfm.asOf).toBe('2011-12-10');
    expect(rfm.customers).toEqual(TIE_EXPECTED);
    expect(rfm.segments.filter((segment) => segment.customers > 0)).toEqual([
      { segment: 'Hibernating', customers: 5, monetary: '103.02' },
      { segment: 'Need Attention', customers: 1, monetary: '100.00' },
      { segment: 'Loyal Customers', customers: 2, monetary: '2007.50' },
      { segment: 'Potential Loyalists', customers: 2, monetary: '200.00' },
    ]);
    expect(rfm.segments.map((segment) => segment.segment)).toEqual(PLAIN_SEGMENT_NAMES);
  });

  it('counts RecencyDays to a given as-of date, by calendar day; the scores only follow the order', async () => {
    const figures = await plainFigures(tiePlainRows());
    const later = plainRfm(figures, '2012-01-10');
    expect(later.customers.map((customer) => customer.RecencyDays)).toEqual(TIE_EXPECTED.map(({ RecencyDays: days }) => (days === null ? null : days + 31)));
    expect(later.customers.map(({ RecencyDays, ...rest }) => rest)).toEqual(TIE_EXPECTED.map(({ RecencyDays, ...rest }) => rest));
    // A minute before midnight is still its day; across a leap day, 2012-02-28 to 2012-03-01 is two days.
    const lateEvening = await plainFigures([{ invoiceNo: '1', customerId: '1', quantity: '1', unitPrice: '1', invoiceDate: '2012-02-28 23:59:00' }]);
    expect(plainRfm(lateEvening)).toMatchObject({ asOf: '2012-02-29', customers: [{ RecencyDays: 1 }] });
    expect(plainRfm(lateEvening, '2012-03-01').customers[0].RecencyDays).toBe(2);
  });

  it('bands by 1 + floor(5 × L / N): one customer is a 1, three distinct values are 1, 2 and 4', async () => {
    const row = (customerId: string, invoices: number) =>
      Array.from({ length: invoices }, (_, i) => ({ invoiceNo: `${customerId}-${i}`, customerId, quantity: '1', unitPrice: String(invoices), invoiceDate: `2011-0${invoices}-01 00:00:00` }));
    expect(plainRfm(await plainFigures(row('1', 1))).customers[0]).toMatchObject({ RecencyScore: 1, FrequencyScore: 1, MonetaryScore: 1, RfmSegment: 'Hibernating' });
    const three = plainRfm(await plainFigures([...row('1', 1), ...row('2', 2), ...row('3', 3)]));
    expect(three.customers.map((c) => [c.RecencyScore, c.FrequencyScore, c.MonetaryScore])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [4, 4, 4],
    ]);
  });
});
