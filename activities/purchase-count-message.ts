/**
 * The Kafka message between the publish and the classify steps: one per customer, keyed by
 * CustomerID (so a customer always lands on the same partition), with the run in a header.
 *
 * Versioned: the value says which shape it has, and a consumer refuses a version it does not know
 * (a message of version 1, from a worker before RFM, has no version field and no RFM values),
 * rather than writing rows with values missing. Publishing the run again sends the current version.
 */
import { InvalidMessageError, MessageVersionError } from '../lib/errors';
import { MAX_SEGMENT_NAME } from '../lib/segmentation/rfm-rules';

export const RUN_ID_HEADER = 'run-id';
/** The value's shape this code writes and reads; one more whenever a field changes. */
export const MESSAGE_VERSION = 2;

export interface PurchaseCountMessage {
  customerId: number;
  purchaseCount: number;
  /** Null for a customer whose invoices carry no date. */
  recencyDays: number | null;
  /** Exact decimal text, in cents: "1234.56". */
  monetary: string;
  recencyScore: number;
  frequencyScore: number;
  monetaryScore: number;
  segment: string;
}

/** A customer's row as the aggregate step stages it (and the history holds it), RFM values set. */
export interface CustomerRow {
  CustomerID: number;
  PurchaseCount: number;
  RecencyDays: number | null;
  Monetary: string;
  RecencyScore: number;
  FrequencyScore: number;
  MonetaryScore: number;
  RfmSegment: string;
}

export function messageOfRow(row: CustomerRow): PurchaseCountMessage {
  return {
    customerId: row.CustomerID,
    purchaseCount: row.PurchaseCount,
    recencyDays: row.RecencyDays,
    monetary: row.Monetary,
    recencyScore: row.RecencyScore,
    frequencyScore: row.FrequencyScore,
    monetaryScore: row.MonetaryScore,
    segment: row.RfmSegment,
  };
}

export function encodePurchaseCount(message: PurchaseCountMessage): { key: string; value: string } {
  return { key: String(message.customerId), value: JSON.stringify({ version: MESSAGE_VERSION, ...message }) };
}

/**
 * The same key and value, byte for byte, as `encodePurchaseCount(messageOfRow(row))`, written
 * straight from the staged row: the publish step's path, one string per value and no object in
 * between (about 0.5 µs a message here against 3 µs; docs/performance.md, "The publish step").
 * The text fields go through JSON.stringify, so their escaping is JSON's; the numbers are the
 * whole numbers the staging table holds. test/unit/purchase-count-message.test.ts holds the two
 * encoders to the same bytes.
 */
export function encodeCustomerRow(row: CustomerRow): { key: string; value: string } {
  const key = String(row.CustomerID);
  return {
    key,
    value:
      `{"version":${MESSAGE_VERSION},"customerId":${key},"purchaseCount":${row.PurchaseCount},"recencyDays":${row.RecencyDays === null ? 'null' : row.RecencyDays},` +
      `"monetary":${JSON.stringify(row.Monetary)},"recencyScore":${row.RecencyScore},"frequencyScore":${row.FrequencyScore},` +
      `"monetaryScore":${row.MonetaryScore},"segment":${JSON.stringify(row.RfmSegment)}}`,
  };
}

const isScore = (value: unknown) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 5;
/** Whole numbers the history's INT UNSIGNED / INT columns hold. */
const isCount = (value: unknown) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 4_294_967_295;
const isDays = (value: unknown) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 2_147_483_647;

/** The message, or an error naming `where` (its partition and offset): MessageVersionError for another version, InvalidMessageError for a misshapen one. */
export function decodePurchaseCount(value: Buffer | null, where: string): PurchaseCountMessage {
  const text = value?.toString('utf8') ?? 'null';
  let parsed: (Partial<PurchaseCountMessage> & { version?: unknown }) | null;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = null;
  }
  if (parsed && typeof parsed === 'object' && parsed.version !== MESSAGE_VERSION) {
    throw new MessageVersionError(
      `the message at ${where} is of version ${parsed.version === undefined ? 1 : JSON.stringify(parsed.version)}, and this worker reads version ${MESSAGE_VERSION} only ` +
        '(it was published by a worker of another release): `segment retry` publishes the run again',
    );
  }
  const m = parsed;
  const valid =
    m !== null &&
    typeof m === 'object' &&
    isCount(m.customerId) &&
    isCount(m.purchaseCount) &&
    (m.recencyDays === null || isDays(m.recencyDays)) &&
    typeof m.monetary === 'string' &&
    /^-?\d{1,28}\.\d{2}$/.test(m.monetary) &&
    isScore(m.recencyScore) &&
    isScore(m.frequencyScore) &&
    isScore(m.monetaryScore) &&
    typeof m.segment === 'string' &&
    m.segment.length <= MAX_SEGMENT_NAME;
  if (!valid) {
    throw new InvalidMessageError(`the message at ${where} is not a customer's message of version ${MESSAGE_VERSION}: ${text.slice(0, 100)}; \`segment retry\` publishes the run again`);
  }
  return {
    customerId: m.customerId!,
    purchaseCount: m.purchaseCount!,
    recencyDays: m.recencyDays!,
    monetary: m.monetary!,
    recencyScore: m.recencyScore!,
    frequencyScore: m.frequencyScore!,
    monetaryScore: m.monetaryScore!,
    segment: m.segment!,
  };
}
