/**
 * The publish step's partitioner: the partition of a key is the one Kafka's Java client and
 * kafkajs's DefaultPartitioner give it (murmur2 of the key's bytes, made positive, modulo the
 * topic's partitions), so a customer lands where it always has. Written here because kafkajs's own
 * copies the topic's partition list for every message before it looks at the key: 2% of the
 * step's CPU in a profile (docs/performance.md, "The publish step"). Messages without a key are
 * not the step's; they are refused rather than spread round-robin.
 * test/unit/kafka-partitioner.test.ts holds it to kafkajs's DefaultPartitioner.
 */
import type { ICustomPartitioner } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of `data`, as a signed 32-bit integer. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[whole + 2] << 16;
    // falls through
    case 2:
      h ^= data[whole + 1] << 8;
    // falls through
    case 1:
      h ^= data[whole];
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionOfKey(key: Buffer | string, partitions: number): number {
  return (murmur2(typeof key === 'string' ? Buffer.from(key) : key) & 0x7fffffff) % partitions;
}

export const KeyPartitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) => {
  if (message.partition !== undefined && message.partition !== null) return message.partition;
  if (message.key === undefined || message.key === null) throw new Error('the publish step sends keyed messages only');
  return partitionOfKey(message.key, partitionMetadata.length);
};
