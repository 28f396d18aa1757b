/**
 * The reference figures of the real UCI workbook, worked out in the test from the same rows as CSV
 * (../shared/data/online-retail.csv.gz) with code that shares nothing with the reader or the
 * cleaning rules (test/support/plain-segmentation.ts, tested in
 * test/unit/plain-reference-counter.test.ts). The files live outside the project and are
 * never copied in: CI must have them, a fresh checkout may not. No server, but both files read
 * whole: the real-data project's (jest.config.js), not the unit layer's.
 */
import { previewWorkbook, type WorkbookPreview } from '../../lib/workbook/preview-workbook';
import { plainRfm } from '../support/plain-segmentation';
import { describeWithOnlineRetail, ONLINE_RETAIL_CSV_GZ, ONLINE_RETAIL_XLSX, onlineRetailReference } from '../support/shared-data';

// The workbook read whole once for the file's tests: it is most of their time.
let preview: Promise<WorkbookPreview> | undefined;
const workbookPreview = () => (preview ??= previewWorkbook({ filePath: ONLINE_RETAIL_XLSX, displayName: 'online-retail.xlsx' }));

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
      const preview = await workbookPreview();
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

    it("previews the RFM segments worked out from the CSV: each segment's customers and Monetary, as of 2011-12-10", async () => {
      const rfm = plainRfm(await onlineRetailReference());
      expect(rfm.asOf).toBe('2011-12-10');
      // The same figures came out of a third computation, made once for this test: Python's csv and
      // decimal modules over the same CSV, with bisect for L. A mistake shared by the reference and
      // the project would have to be made there too.
      expect(Object.fromEntries(rfm.segments.map(({ segment, customers }) => [segment, customers]))).toEqual({
        Hibernating: 1349,
        'At Risk': 372,
        "Can't Lose Them": 37,
        'About To Sleep': 475,
        'Need Attention': 116,
        'Loyal Customers': 708,
        Promising: 167,
        'New Customers': 63,
        'Potential Loyalists': 474,
        Champions: 577,
      });
      expect(rfm.segments.find(({ segment }) => segment === 'Champions')!.monetary).toBe('4241450.93');
      const { rfm: previewed } = await workbookPreview();
      expect({ asOf: previewed.asOf, rules: previewed.rules }).toEqual({ asOf: '2011-12-10', rules: 'rules/rfm-segments.json' });
      // By name: the order is the rules file's, which the report follows, not this test's business.
      const byName = (segments: Array<{ segment: string; customers: number; monetary: string }>) => Object.fromEntries(segments.map(({ segment, ...rest }) => [segment, rest]));
      expect(previewed.segments).toHaveLength(rfm.segments.length);
      expect(byName(previewed.segments)).toEqual(byName(rfm.segments));
    });
  },
  [ONLINE_RETAIL_XLSX, ONLINE_RETAIL_CSV_GZ],
);
