/** The report's pure parts of RFM: Monetary shares from exact decimal text, and the one list of customers who changed category or segment. */
import { cents, monetaryShare } from '../../cli/report/monetary-share';
import { changedCustomers, type MovedCustomer } from '../../cli/report/run-report';
import type { SegmentMoves } from '../../cli/report/rfm-segments-report';

test('Monetary shares come from the decimal text, rounded half up to a tenth of a percent', () => {
  expect(cents('8911407.90')).toBe(891140790n);
  expect(cents('0.05')).toBe(5n);
  expect(cents('12')).toBe(1200n);
  expect(cents('-3.10')).toBe(-310n);
  expect(monetaryShare('1.00', '3.00')).toBe('33.3%');
  expect(monetaryShare('2.00', '3.00')).toBe('66.7%');
  // 1/8 = 12.5% exactly; 1/1600 = 0.0625%, half up to 0.1%.
  expect(monetaryShare('1.00', '8.00')).toBe('12.5%');
  expect(monetaryShare('0.01', '16.00')).toBe('0.1%');
  expect(monetaryShare('0.00', '16.00')).toBe('0.0%');
  expect(monetaryShare('8911407.90', '8911407.90')).toBe('100.0%');
  // Beyond a double's exact integers: still exact.
  expect(monetaryShare('4503599627370496.01', '9007199254740992.02')).toBe('50.0%');
  expect(monetaryShare('0.00', '0.00')).toBe('–');
});

test('changed customers: segment and category changes as one list, each customer once, the biggest change in invoices first, then by move', () => {
  const segmentMoves: SegmentMoves = {
    compared: true,
    pairs: [
      { From: 'Champions', To: 'At Risk', Customers: 2 },
      { From: 'Hibernating', To: 'Promising', Customers: 1 },
    ],
    customers: [
      { CustomerID: 30, SegmentBefore: 'Champions', SegmentAfter: 'At Risk', CategoryBefore: 'High Frequency', CategoryAfter: 'High Frequency', PurchasesBefore: 9, PurchasesAfter: 9 },
      { CustomerID: 31, SegmentBefore: 'Champions', SegmentAfter: 'At Risk', CategoryBefore: 'High Frequency', CategoryAfter: 'Low Frequency', PurchasesBefore: 9, PurchasesAfter: 5 },
      { CustomerID: 10, SegmentBefore: 'Hibernating', SegmentAfter: 'Promising', CategoryBefore: 'Low Frequency', CategoryAfter: 'Low Frequency', PurchasesBefore: 1, PurchasesAfter: 1 },
    ],
  };
  const moved: MovedCustomer[] = [
    { CustomerID: 31, Before: 'High Frequency', After: 'Low Frequency', PurchasesBefore: 9, PurchasesAfter: 5, SegmentBefore: 'Champions', SegmentAfter: 'At Risk' },
    { CustomerID: 20, Before: 'Low Frequency', After: 'High Frequency', PurchasesBefore: 5, PurchasesAfter: 6, SegmentBefore: 'Loyal Customers', SegmentAfter: 'Loyal Customers' },
  ];
  expect(changedCustomers({ moved, segmentMoves }).map((customer) => [customer.CustomerID, customer.SegmentBefore, customer.SegmentAfter, customer.CategoryAfter])).toEqual([
    [31, 'Champions', 'At Risk', 'Low Frequency'],
    [20, 'Loyal Customers', 'Loyal Customers', 'High Frequency'],
    [30, 'Champions', 'At Risk', 'High Frequency'],
    [10, 'Hibernating', 'Promising', 'Low Frequency'],
  ]);
  // Segments not compared (a run from before RFM): the category changes alone.
  expect(changedCustomers({ moved, segmentMoves: { compared: false, pairs: [], customers: [] } }).map((customer) => customer.CustomerID)).toEqual([31, 20]);
  expect(changedCustomers({ moved: [], segmentMoves: null })).toEqual([]);
});
