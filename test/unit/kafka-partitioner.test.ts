/**
 * The publish step's partitioner (lib/kafka-partitioner.ts) puts every key where kafkajs's
 * DefaultPartitioner (and so Kafka's Java client) puts it: a customer keeps its partition across
 * releases, and a run published half before an upgrade and half after lands on the same partitions.
 */
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { KeyPartitioner, murmur2 } from '../../lib/kafka-partitioner';

const metadata = (partitions: number): PartitionMetadata[] =>
  Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

test.each([1, 6, 7, 12, 64])('every key lands on the partition kafkajs gives it, of %i', (partitions) => {
  const ours = KeyPartitioner();
  const kafkajs = Partitioners.DefaultPartitioner();
  const partitionMetadata = metadata(partitions);
  const keys = [...Array.from({ length: 20_000 }, (_, i) => String(12_346 + i * 37)), '', 'a', 'ab', 'abc', 'abcd', 'ünï', String(4_294_967_295)];
  for (const asBytes of [false, true]) {
    const messages = keys.map((key) => ({ key: asBytes ? Buffer.from(key) : key, value: null }));
    const differ = messages.filter((message) => ours({ topic: 't', partitionMetadata, message }) !== kafkajs({ topic: 't', partitionMetadata, message }));
    expect(differ).toEqual([]);
  }
});

test("Kafka's murmur2 of known keys (values from the Java client's Utils.murmur2)", () => {
  // Utils.murmur2("21".getBytes()) = -973932308, of "foobar" = -790332482 (Kafka's UtilsTest).
  expect(murmur2(Buffer.from('21'))).toBe(-973932308);
  expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
});

test('a partition given on the message wins, and a message without a key is refused', () => {
  const partition = KeyPartitioner();
  expect(partition({ topic: 't', partitionMetadata: metadata(6), message: { key: '12346', value: null, partition: 4 } })).toBe(4);
  expect(() => partition({ topic: 't', partitionMetadata: metadata(6), message: { value: 'x' } })).toThrow('keyed messages only');
});
