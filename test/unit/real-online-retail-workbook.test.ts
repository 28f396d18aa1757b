/**
 * The reference figures of the real UCI workbook, worked out in the test from the same rows as CSV
 * (../shared/data/online-retail.csv.gz) with code that shares nothing with the reader or the
 * cleaning rules (test/support/plain-segmentation.ts). The files live outside the project and are
 * never copied in: CI must have them, a fresh checkout may not.
 */
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import { plainFigures, splitCsvLine } from '../support/plain-segmentation';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX, onlineRetailReference } from '../support/shared-data';

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

describeWithOnlineRetail(
  'the real UCI Online Retail workbook',
  () => {
    it('the plain counter reads the CSV as SOURCE.md measured it', async () => {
      // ../shared/data/SOURCE.md's own checks of the file, made when it was assembled: a parser that split a
      // quoted description would miss them.
      const reference = await onlineRetailReference();
      expect(reference.rowsRead).toBe(541_909);
      expect(reference.rowsDropped.missingCustomerId).toBe(135_080);
    });

    it('previews to the figures worked out from the CSV', async () => {
      const reference = await onlineRetailReference();
      const preview = await previewWorkbook({ filePath: ONLINE_RETAIL_XLSX, displayName: 'online-retail.xlsx' });
      expect(preview.report).toEqual({
        rowsRead: reference.rowsRead,
        rowsKept: reference.rowsKept,
        rowsDropped: reference.rowsDropped,
        newestInvoiceDate: reference.newestInvoiceDate,
      });
      expect({ customers: preview.customers, low: preview.low, high: preview.high, purchases: preview.purchases }).toEqual({
        customers: reference.customers,
        low: reference.low,
        high: reference.high,
        purchases: reference.purchases,
      });
      const busiest = [...reference.purchaseCounts]
        .sort(([idA, a], [idB, b]) => b - a || idA - idB)
        .slice(0, 3)
        .map(([customerId, purchaseCount]) => ({ customerId, purchaseCount }));
      expect(preview.topCustomers.slice(0, 3)).toEqual(busiest);
    });
  },
  [ONLINE_RETAIL_XLSX, ONLINE_RETAIL_CSV_GZ],
);
