/** The pure parts of noticing lost Kafka messages: a batch that skips offsets, and ranges that keep their topic's identity. */
import { assertBatchStartsAt } from '../../activities/published-range-check';
import { mergePublishedRanges } from '../../workflows/partition-groups';
import type { PartitionRange } from '../../lib/partition-range';

const range: PartitionRange = { partition: 2, fromOffset: '100', toOffset: '200', topic: 'purchase-frequency', topicId: 'eIJxpBX8SYy-g0eXdftIgg' };

test('a batch that starts past the next offset is a loss, named by topic, partition and offsets', () => {
  expect(() => assertBatchStartsAt('purchase-frequency', range, 120n, ['150', '151'])).toThrow(
    expect.objectContaining({
      name: 'PublishedRangeGoneError',
      message: expect.stringMatching(/offsets 120 to 149 of partition 2 of topic "purchase-frequency".*`segment retry` publishes/),
    }),
  );
});

test('a batch at the next offset, or one that starts before it (a redelivery), is not', () => {
  expect(() => assertBatchStartsAt('purchase-frequency', range, 120n, ['120', '121'])).not.toThrow();
  expect(() => assertBatchStartsAt('purchase-frequency', range, 120n, ['110', '111', '120'])).not.toThrow();
  expect(() => assertBatchStartsAt('purchase-frequency', range, 120n, ['110', '111'])).not.toThrow();
  expect(() => assertBatchStartsAt('purchase-frequency', range, 120n, [])).not.toThrow();
});

test("merged slices keep the topic's name and id; ranges recorded before them stay as they were", () => {
  const identity = { topic: range.topic, topicId: range.topicId };
  expect(
    mergePublishedRanges([
      [{ partition: 0, fromOffset: '10', toOffset: '20', ...identity }],
      [{ partition: 0, fromOffset: '12', toOffset: '25', ...identity }],
    ]),
  ).toEqual([{ partition: 0, fromOffset: '10', toOffset: '25', ...identity }]);
  expect(mergePublishedRanges([[{ partition: 0, fromOffset: '10', toOffset: '20' }], [{ partition: 0, fromOffset: '12', toOffset: '25' }]])).toEqual([
    { partition: 0, fromOffset: '10', toOffset: '25' },
  ]);
});
