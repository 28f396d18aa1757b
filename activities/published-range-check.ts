/**
 * Whether Kafka can still serve what a run published and has not consumed yet. Messages go away
 * under a consumer in three ways, none of which kafkajs reports: retention or an admin's
 * deleteRecords moves a partition's low watermark past them (the consumer is reset to the earliest
 * offset left and skips the rest), or the topic is deleted and created again under the same name
 * (offsets start again at 0: the low watermark passes a check, the run's offsets never come).
 *
 * So the consumer checks, when it starts and again every second while it reads:
 * - the topic's id (lib/kafka-topic-id.ts) is the one publish recorded with the ranges: the only
 *   thing that tells a re-created topic from the original once it has been written to again;
 * - each unfinished partition still holds its next offset up to the run's end: low watermark at
 *   or below the next offset, high watermark at or above the run's `toOffset`;
 * and at every batch that the batch starts at the offset it asked for (see `assertBatchStartsAt`).
 * Runs published before the id was recorded, or on a broker that cannot tell it, keep the last two,
 * and the run-id header every message carries still keeps other runs' messages out of the result.
 */
import type { Admin } from 'kafkajs';
import { PublishedRangeGoneError } from '../lib/errors';
import type { TopicIdReader } from '../lib/kafka-topic-id';
import type { PartitionRange } from '../lib/partition-range';

const RETRY_ADVICE = '`segment retry` publishes the run\'s counts again and then consumes and classifies them afresh';

export interface RangeCheck {
  admin: Admin;
  ids: TopicIdReader;
  /** The topic this worker reads. */
  topic: string;
  ranges: PartitionRange[];
  /** Per partition, the next offset still to read. */
  next: ReadonlyMap<number, bigint>;
  unfinished: number[];
}

/** Throws PublishedRangeGoneError if any unread part of the ranges cannot be read; returns the topic's partitions. */
export async function assertRangesServable({ admin, ids, topic, ranges, next, unfinished }: RangeCheck): Promise<number[]> {
  const open = ranges.filter((range) => unfinished.includes(range.partition));
  const unread = (range: PartitionRange) => `offsets ${next.get(range.partition)} to ${BigInt(range.toOffset) - 1n}`;
  const describe = (list: PartitionRange[]) => list.map((range) => `partition ${range.partition} ${unread(range)}`).join(', ');

  const foreign = open.filter((range) => range.topic !== undefined && range.topic !== topic);
  if (foreign.length) {
    throw gone(`this run published to topic "${foreign[0].topic}" but this worker reads topic "${topic}" (${describe(foreign)} unread)`);
  }
  const recordedId = open.find((range) => range.topicId)?.topicId;
  if (recordedId) {
    const currentId = await ids.topicId(topic);
    if (currentId === null) {
      throw gone(`topic "${topic}" was deleted with this run's unread messages in it: ${describe(open)}`);
    }
    if (currentId !== undefined && currentId !== recordedId) {
      throw gone(
        `topic "${topic}" was deleted and created again (id ${recordedId} when published, now ${currentId}): ` +
          `this run's unread messages went with the old one: ${describe(open)}`,
      );
    }
  }

  const offsets = await admin.fetchTopicOffsets(topic);
  for (const range of open) {
    const { partition } = range;
    const watermarks = offsets.find((offset) => offset.partition === partition);
    if (!watermarks) throw gone(`topic "${topic}" has no partition ${partition} any more: ${unread(range)} are gone`);
    const low = BigInt(watermarks.low);
    const high = BigInt(watermarks.high);
    if (low > next.get(partition)!) {
      throw gone(
        `Kafka deleted offsets ${next.get(partition)} to ${low - 1n} of partition ${partition} of topic "${topic}" ` +
          `(retention or deleteRecords) before this run consumed them (it published up to ${BigInt(range.toOffset) - 1n})`,
      );
    }
    if (high < BigInt(range.toOffset)) {
      throw gone(
        `partition ${partition} of topic "${topic}" now ends at offset ${high}, short of the ${range.toOffset} this run published up to: ` +
          `the topic was truncated or created again, and ${unread(range)} are gone`,
      );
    }
  }
  return offsets.map((offset) => offset.partition);
}

/**
 * A batch's first message at or after the offset the consumer asked for must be that offset:
 * offsets in a partition are consecutive (no compaction, no transactions on this topic), so a
 * later one means kafkajs was moved on (it resets to the earliest offset when the one it asked
 * for was deleted). Messages before it are re-deliveries, skipped by the caller.
 */
export function assertBatchStartsAt(topic: string, range: PartitionRange, expected: bigint, offsets: readonly string[]): void {
  const first = offsets.map(BigInt).find((offset) => offset >= expected);
  if (first !== undefined && first > expected) {
    throw gone(
      `Kafka deleted offsets ${expected} to ${first - 1n} of partition ${range.partition} of topic "${topic}" while this run ` +
        `was consuming them (retention or deleteRecords; it published up to ${BigInt(range.toOffset) - 1n}): ` +
        `the consumer was moved on to offset ${first}`,
    );
  }
}

function gone(what: string): PublishedRangeGoneError {
  return new PublishedRangeGoneError(`${what}; ${RETRY_ADVICE}`);
}
