/**
 * How many customers placed how many distinct invoices, in bins a person can read at a glance:
 * one bin per count up to 5 (where most customers are), then 6–10, 11–20, 21–50, 51–100 and so
 * on. The Low/High threshold is always a bin edge, so no bin mixes the two segments.
 */
import { frequencyCategory, type FrequencyCategory } from '../../lib/segmentation/frequency-category';

export interface PurchaseCountFrequency {
  purchaseCount: number;
  customers: number;
}

export interface HistogramBin {
  /** Lowest and highest PurchaseCount in the bin, both included. */
  from: number;
  to: number;
  /** `3`, or `6–10`. */
  label: string;
  customers: number;
  category: FrequencyCategory;
}

/** Counts below this get a bin each. */
const SINGLE_BINS_UP_TO = 5;

export function purchaseCountHistogram(frequencies: PurchaseCountFrequency[], threshold: number): HistogramBin[] {
  const counted = frequencies.filter((entry) => entry.customers > 0);
  if (counted.length === 0) return [];
  const highest = Math.max(...counted.map((entry) => entry.purchaseCount));
  const bins: HistogramBin[] = [];
  let from = 1;
  for (const to of upperEdges(highest, threshold)) {
    const customers = counted.filter((entry) => entry.purchaseCount >= from && entry.purchaseCount <= to).reduce((sum, entry) => sum + entry.customers, 0);
    bins.push({ from, to, label: from === to ? String(from) : `${from}–${to}`, customers, category: frequencyCategory(to, threshold) });
    from = to + 1;
  }
  return bins;
}

/** 1, 2, 3, 4, 5, then 10, 20, 50, 100, 200, 500, ... with the threshold added, up to the first edge that holds `highest`. */
function upperEdges(highest: number, threshold: number): number[] {
  const edges = new Set<number>();
  for (let count = 1; count <= SINGLE_BINS_UP_TO; count++) edges.add(count);
  for (let decade = 10; decade / 10 <= highest; decade *= 10) for (const step of [1, 2, 5]) edges.add(step * decade);
  if (threshold >= 1) edges.add(threshold);
  const sorted = [...edges].sort((a, b) => a - b);
  const last = sorted.findIndex((edge) => edge >= highest);
  return sorted.slice(0, last + 1);
}
