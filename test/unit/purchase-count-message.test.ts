/**
 * The per-customer Kafka message (activities/purchase-count-message.ts), version 2 since RFM: a
 * consumer refuses every other version with MessageVersionError, naming where the message is, and
 * never reads a version-1 message (no RFM values) as if its values were there. The classify
 * step meeting real version-1 messages in a real topic: test/integration/rfm-segments.test.ts.
 */
import { decodePurchaseCount, encodePurchaseCount, MESSAGE_VERSION, type PurchaseCountMessage } from '../../activities/purchase-count-message';
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
