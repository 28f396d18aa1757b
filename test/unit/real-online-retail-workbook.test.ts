/**
 * The reference figures of the real UCI workbook (../shared/data/SOURCE.md). The file lives
 * outside the project and is never copied in: CI must have it, a fresh checkout may not.
 */
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import { describeWithOnlineRetail, ONLINE_RETAIL_XLSX } from '../support/shared-data';

describeWithOnlineRetail('the real UCI Online Retail workbook', () => {
  it('previews to the reference figures', async () => {
    const preview = await previewWorkbook({ filePath: ONLINE_RETAIL_XLSX, displayName: 'online-retail.xlsx' });
    expect(preview.report).toEqual({
      rowsRead: 541_909,
      rowsKept: 397_884,
      rowsDropped: {
        missingCustomerId: 135_080,
        missingInvoiceNo: 0,
        cancellation: 8_905,
        nonPositiveQuantity: 0,
        nonPositiveUnitPrice: 40,
      },
      newestInvoiceDate: '2011-12-09T12:50:00',
    });
    expect({ customers: preview.customers, low: preview.low, high: preview.high, purchases: preview.purchases }).toEqual({
      customers: 4_338,
      low: 3_466,
      high: 872,
      purchases: 18_532,
    });
    expect(preview.topCustomers.slice(0, 3)).toEqual([
      { customerId: 12748, purchaseCount: 209 },
      { customerId: 14911, purchaseCount: 201 },
      { customerId: 17841, purchaseCount: 124 },
    ]);
  });
});
