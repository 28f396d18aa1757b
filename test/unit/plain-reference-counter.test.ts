/**
 * The plain reference counter (test/support/plain-segmentation.ts) that works out the real UCI
 * workbook's reference figures from the same rows as CSV, with code that shares nothing with the
 * reader or the cleaning rules. Its run on the real files, and the workbook's preview held to its
 * figures, read all 541,909 rows: test/real-data/online-retail-figures.test.ts.
 */
import { plainFigures, splitCsvLine } from '../support/plain-segmentation';

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
});
