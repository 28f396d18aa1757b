import { PurchaseCounter } from '../../lib/aggregation/purchase-counter';
import { DEFAULT_FREQUENCY_THRESHOLD, frequencyCategory } from '../../lib/segmentation/frequency-category';

describe('frequencyCategory', () => {
  it('puts up to the threshold in Low Frequency and above it in High Frequency', () => {
    expect(DEFAULT_FREQUENCY_THRESHOLD).toBe(5);
    expect(frequencyCategory(1)).toBe('Low Frequency');
    expect(frequencyCategory(5)).toBe('Low Frequency');
    expect(frequencyCategory(6)).toBe('High Frequency');
    expect(frequencyCategory(6, 10)).toBe('Low Frequency');
    expect(frequencyCategory(11, 10)).toBe('High Frequency');
  });
});

describe('PurchaseCounter', () => {
  it('counts distinct invoices per customer, not invoice lines', () => {
    const counter = new PurchaseCounter();
    for (let line = 0; line < 7; line++) counter.add(17850, '536365'); // one invoice of seven lines
    counter.add(17850, '536366');
    for (let invoice = 0; invoice < 6; invoice++) counter.add(12748, `5370${invoice}`);
    counter.add(13047, '536367');
    expect(counter.purchaseCounts()).toEqual(new Map([[17850, 2], [12748, 6], [13047, 1]]));
    expect(counter.summary()).toEqual({ customers: 3, low: 2, high: 1, purchases: 9 });
    expect(counter.summary(1)).toEqual({ customers: 3, low: 1, high: 2, purchases: 9 });
  });

  it('summarises an empty workbook as no customers', () => {
    expect(new PurchaseCounter().summary()).toEqual({ customers: 0, low: 0, high: 0, purchases: 0 });
  });
});
