/**
 * The per-customer Kafka message (activities/purchase-count-message.ts), version 2 since RFM: a
 * consumer refuses every other version with MessageVersionError, naming where the message is, and
 * never reads a version-1 message (no RFM values) as if its values were there. The classify
 * step meeting real version-1 messages in a real topic: test/integration/rfm-segments.test.ts.
 * The publish step's own encoder (encodeCustomerRow, written for speed) is held to the same bytes.
 */
import {
  decodePurchaseCount,
  encodeCustomerRow,
  encodePurchaseCount,
  MESSAGE_VERSION,
  messageOfRow,
  type CustomerRow,
  type PurchaseCountMessage,
} from '../../activities/purchase-count-message';
import { InvalidMessageError, MessageVersionError } from '../../lib/errors';

const WHERE = 'partition 2, offset 41 of topic "purchase-frequency"';

const message: PurchaseCountMessage = {
  customerId: 12346,
  purchaseCount: 1,
  recencyDays: 326,
  monetary: '77183.60',
  recencyScore: 1,
  frequencyScore: 1,
  monetaryScore: 5,
  segment: 'Hibernating',
};

const decode = (value: unknown) => decodePurchaseCount(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), WHERE);

test('version 2 goes through: keyed by customer, the version in the value', () => {
  expect(MESSAGE_VERSION).toBe(2);
  const { key, value } = encodePurchaseCount(message);
  expect(key).toBe('12346');
  expect(JSON.parse(value)).toEqual({ version: 2, ...message });
  expect(decodePurchaseCount(Buffer.from(value), WHERE)).toEqual(message);
  expect(decode({ version: 2, ...message, recencyDays: null })).toEqual({ ...message, recencyDays: null });
});

test.each([
  ['version 1, as workers before RFM wrote it (no version field)', { customerId: 12346, purchaseCount: 1 }, '1'],
  ['version 1 written out', { version: 1, customerId: 12346, purchaseCount: 1 }, '1'],
  ['a later version, even with every version-2 field', { version: 3, ...message }, '3'],
  ['a version given as text', { ...message, version: '2' }, '"2"'],
])('another version is refused, naming where it is and what to do: %s', (_case, value, version) => {
  let error: unknown;
  try {
    decode(value);
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(MessageVersionError);
  expect((error as Error).message).toBe(
    `the message at ${WHERE} is of version ${version}, and this worker reads version 2 only (it was published by a worker of another release): \`segment retry\` publishes the run again`,
  );
});

test.each([
  ['no RFM values', { version: 2, customerId: 12346, purchaseCount: 1 }],
  ['Monetary as a number', { version: 2, ...message, monetary: 77183.6 }],
  ['Monetary not in cents', { version: 2, ...message, monetary: '77183.6' }],
  ['a score of 0', { version: 2, ...message, recencyScore: 0 }],
  ['a score of 6', { version: 2, ...message, monetaryScore: 6 }],
  ['no segment', { version: 2, ...message, segment: undefined }],
  ['a segment longer than the column', { version: 2, ...message, segment: 'x'.repeat(65) }],
  ['RecencyDays past INT', { version: 2, ...message, recencyDays: 1e300 }],
  ['negative RecencyDays', { version: 2, ...message, recencyDays: -1 }],
  ['PurchaseCount past INT UNSIGNED', { version: 2, ...message, purchaseCount: 2 ** 40 }],
  ['not JSON', 'customer 12346'],
  ['JSON null', 'null'],
])('a version-2 message that is not whole is refused as such, not as a version: %s', (_case, value) => {
  let error: unknown;
  try {
    decode(value);
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(InvalidMessageError);
  expect((error as Error).message).toMatch(/^the message at partition 2, offset 41 of topic "purchase-frequency" is not a customer's message of version 2: /);
});

test('an empty value (a tombstone) is not a message', () => {
  expect(() => decodePurchaseCount(null, WHERE)).toThrow(new InvalidMessageError(`the message at ${WHERE} is not a customer's message of version 2: null; \`segment retry\` publishes the run again`));
});

/** Staged rows of every shape the publish step meets: no recency, large figures, segment names JSON must escape. */
const ROWS: CustomerRow[] = [
  { CustomerID: 12346, PurchaseCount: 1, RecencyDays: 326, Monetary: '77183.60', RecencyScore: 1, FrequencyScore: 1, MonetaryScore: 5, RfmSegment: 'Hibernating' },
  { CustomerID: 1, PurchaseCount: 4_294_967_295, RecencyDays: null, Monetary: '-0.01', RecencyScore: 5, FrequencyScore: 5, MonetaryScore: 1, RfmSegment: 'Champions' },
  { CustomerID: 4_294_967_295, PurchaseCount: 7, RecencyDays: 0, Monetary: '9999999999999999999999999999.99', RecencyScore: 3, FrequencyScore: 2, MonetaryScore: 4, RfmSegment: 'say "hi" \\ back\nslash' },
  { CustomerID: 99, PurchaseCount: 2, RecencyDays: 2_147_483_647, Monetary: '0.00', RecencyScore: 2, FrequencyScore: 3, MonetaryScore: 2, RfmSegment: 'Clientes leales ✓ — 忠誠 \u0001\u2028' },
];

test('the publish step encodes a staged row to the very bytes of the versioned message, and they decode back to the row', () => {
  for (const row of ROWS) {
    const fast = encodeCustomerRow(row);
    const reference = encodePurchaseCount(messageOfRow(row));
    expect(fast).toEqual(reference);
    expect(Buffer.from(fast.value).equals(Buffer.from(reference.value))).toBe(true);
    expect(decodePurchaseCount(Buffer.from(fast.value), WHERE)).toEqual(messageOfRow(row));
  }
});

test('the same bytes for many synthetic rows, whatever their figures', () => {
  for (let i = 0; i < 20_000; i++) {
    const row: CustomerRow = {
      CustomerID: 1 + ((i * 2_654_435_761) % 4_294_967_295),
      PurchaseCount: 1 + (i % 997),
      RecencyDays: i % 11 === 0 ? null : (i * 7919) % 5000,
      Monetary: `${i % 3 === 0 ? '-' : ''}${(i * 104_729) % 1_000_000}.${String(i % 100).padStart(2, '0')}`,
      RecencyScore: 1 + (i % 5),
      FrequencyScore: 1 + ((i >> 2) % 5),
      MonetaryScore: 1 + ((i >> 4) % 5),
      RfmSegment: ['Champions', 'At Risk', 'Can\'t Lose Them', 'Need "Attention"'][i % 4],
    };
    expect(encodeCustomerRow(row)).toEqual(encodePurchaseCount(messageOfRow(row)));
  }
});
