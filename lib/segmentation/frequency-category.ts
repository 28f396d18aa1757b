/**
 * The older design's two segments. Imported by workflow code too, so this file must stay free of
 * Node and of I/O: it runs inside Temporal's deterministic workflow sandbox.
 */
export type FrequencyCategory = 'Low Frequency' | 'High Frequency';

/** A customer with more distinct invoices than this is High Frequency. */
export const DEFAULT_FREQUENCY_THRESHOLD = 5;

export function frequencyCategory(purchaseCount: number, threshold: number = DEFAULT_FREQUENCY_THRESHOLD): FrequencyCategory {
  return purchaseCount > threshold ? 'High Frequency' : 'Low Frequency';
}
