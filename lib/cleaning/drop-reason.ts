/**
 * Why the default cleaning rules drop a transaction row, in the order the rules are applied.
 * The order matters: a row is counted once, under the first rule it breaks.
 */
export const DROP_REASONS = [
  'missingCustomerId',
  'missingInvoiceNo',
  'cancellation',
  'nonPositiveQuantity',
  'nonPositiveUnitPrice',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];
