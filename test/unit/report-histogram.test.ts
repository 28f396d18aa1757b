/** The report's PurchaseCount bins: one per count up to 5, then 1-2-5 steps, split at the threshold. */
import { purchaseCountHistogram } from '../../cli/report/purchase-count-histogram';

const frequencies = (counts: Record<number, number>) =>
  Object.entries(counts).map(([purchaseCount, customers]) => ({ purchaseCount: Number(purchaseCount), customers }));

test('single counts up to 5, then 6–10, 11–20, 21–50, 51–100; empty bins in between are kept', () => {
  const bins = purchaseCountHistogram(frequencies({ 1: 10, 2: 5, 6: 3, 11: 1, 57: 2 }), 5);
  expect(bins.map((bin) => bin.label)).toEqual(['1', '2', '3', '4', '5', '6–10', '11–20', '21–50', '51–100']);
  expect(bins.map((bin) => bin.customers)).toEqual([10, 5, 0, 0, 0, 3, 1, 0, 2]);
  expect(bins.map((bin) => bin.category)).toEqual([...Array(5).fill('Low Frequency'), ...Array(4).fill('High Frequency')]);
});

test('the threshold is always a bin edge, so no bin holds both segments', () => {
  const bins = purchaseCountHistogram(frequencies({ 1: 1, 7: 2, 8: 4, 9: 1 }), 7);
  expect(bins.slice(5).map(({ label, customers, category }) => ({ label, customers, category }))).toEqual([
    { label: '6–7', customers: 2, category: 'Low Frequency' },
    { label: '8–10', customers: 5, category: 'High Frequency' },
  ]);
});

test('the last bin is the first that holds the busiest customer', () => {
  expect(purchaseCountHistogram(frequencies({ 3: 1 }), 5).map((bin) => bin.label)).toEqual(['1', '2', '3']);
  expect(purchaseCountHistogram(frequencies({ 1: 1, 1200: 1 }), 5).map((bin) => bin.label).slice(-3)).toEqual(['201–500', '501–1000', '1001–2000']);
});

test('threshold 0 makes every bin High Frequency; no customers, no bins', () => {
  expect(new Set(purchaseCountHistogram(frequencies({ 1: 3, 4: 1 }), 0).map((bin) => bin.category))).toEqual(new Set(['High Frequency']));
  expect(purchaseCountHistogram([], 5)).toEqual([]);
});
