/**
 * The Kafka message between the publish and the classify steps: one per customer, keyed by
 * CustomerID (so a customer always lands on the same partition), with the run in a header.
 */
export const RUN_ID_HEADER = 'run-id';

export interface PurchaseCountMessage {
  customerId: number;
  purchaseCount: number;
}

export function encodePurchaseCount(message: PurchaseCountMessage): { key: string; value: string } {
  return { key: String(message.customerId), value: JSON.stringify(message) };
}

export function decodePurchaseCount(value: Buffer | null): PurchaseCountMessage {
  const parsed = JSON.parse(value?.toString('utf8') ?? 'null') as Partial<PurchaseCountMessage> | null;
  if (!parsed || !Number.isInteger(parsed.customerId) || !Number.isInteger(parsed.purchaseCount)) {
    throw new Error(`not a purchase-count message: ${value?.toString('utf8').slice(0, 100)}`);
  }
  return { customerId: parsed.customerId!, purchaseCount: parsed.purchaseCount! };
}
