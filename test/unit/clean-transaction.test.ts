import { cleanTransaction } from '../../lib/cleaning/clean-transaction';
import { countRow, emptyDataQualityReport } from '../../lib/cleaning/data-quality-report';
import type { TransactionRow } from '../../lib/workbook/read-transaction-rows';

const purchase: TransactionRow = { rowNumber: 2, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55, invoiceDate: 40513.35 };

describe('cleanTransaction', () => {
  it('keeps a purchase as a (customer, invoice) pair', () => {
    expect(cleanTransaction(purchase)).toEqual({ kept: true, customerId: 17850, invoiceNo: '536365' });
  });

  it.each([
    ['missingCustomerId', { customerId: null }],
    ['missingInvoiceNo', { invoiceNo: null }],
    ['cancellation', { invoiceNo: 'C536379', quantity: -1 }],
    ['cancellation', { invoiceNo: 'c536379' }],
    ['nonPositiveQuantity', { quantity: 0 }],
    ['nonPositiveQuantity', { quantity: -12 }],
    ['nonPositiveQuantity', { quantity: null }],
    ['nonPositiveUnitPrice', { unitPrice: 0 }],
    ['nonPositiveUnitPrice', { unitPrice: -11062.06 }],
    ['nonPositiveUnitPrice', { unitPrice: null }],
  ])('drops %s (%j)', (reason, change) => {
    expect(cleanTransaction({ ...purchase, ...change })).toEqual({ kept: false, reason });
  });

  it('does not take a C inside an invoice number for a cancellation', () => {
    expect(cleanTransaction({ ...purchase, invoiceNo: 'A563185C' })).toEqual({ kept: true, customerId: 17850, invoiceNo: 'A563185C' });
  });

  it.each([
    ['missingCustomerId', { customerId: null, invoiceNo: null, quantity: -1, unitPrice: 0 }],
    ['missingInvoiceNo', { invoiceNo: null, quantity: -1, unitPrice: 0 }],
    ['cancellation', { invoiceNo: 'C536379', quantity: -1, unitPrice: 0 }],
    ['nonPositiveQuantity', { quantity: -1, unitPrice: 0 }],
  ])('applies the rules in order: several broken at once count as %s', (reason, change) => {
    expect(cleanTransaction({ ...purchase, ...change })).toEqual({ kept: false, reason });
  });
});

describe('data quality report', () => {
  it('counts every row once, kept or under its reason, and survives JSON', () => {
    const report = emptyDataQualityReport();
    for (const row of [purchase, purchase, { ...purchase, customerId: null }, { ...purchase, invoiceNo: 'C1' }, { ...purchase, unitPrice: 0 }]) {
      countRow(report, cleanTransaction(row));
    }
    const expected = {
      rowsRead: 5,
      rowsKept: 2,
      rowsDropped: { missingCustomerId: 1, missingInvoiceNo: 0, cancellation: 1, nonPositiveQuantity: 0, nonPositiveUnitPrice: 1 },
    };
    expect(report).toEqual(expected);
    expect(JSON.parse(JSON.stringify(report))).toEqual(expected);
  });

  it('starts each report from zero', () => {
    const first = emptyDataQualityReport();
    countRow(first, { kept: false, reason: 'cancellation' });
    expect(emptyDataQualityReport().rowsDropped.cancellation).toBe(0);
  });
});
