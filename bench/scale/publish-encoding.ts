/**
 * The publish step's CPU a message without a broker: staged rows made into kafkajs messages and
 * encoded into produce requests by kafkajs's own request encoder (the code `producer.send` runs
 * under its lock), timed as this process's CPU, so another job on the machine does not move it.
 * Two ways of making the messages, side by side:
 * - `before`: the step as it was (messageOfRow, encodePurchaseCount, a spread object per message,
 *   the run id as a string header, kafkajs's DefaultPartitioner);
 * - `now`: encodeCustomerRow, one Buffer header for all, lib/kafka-partitioner.ts;
 * each with and without LZ4 / gzip. kafkajs's request modules are internal (kafkajs/src/...):
 * this is a bench, pinned to the kafkajs in package.json.
 */
import { CompressionTypes, Partitioners, type Message, type PartitionerArgs } from 'kafkajs';
import { encodeCustomerRow, encodePurchaseCount, messageOfRow, RUN_ID_HEADER, type CustomerRow } from '../../activities/purchase-count-message';
import { COMPRESSION_TYPES, registerCompressionCodecs } from '../../lib/kafka-compression';
import { KeyPartitioner } from '../../lib/kafka-partitioner';
import type { KafkaCompression } from '../../lib/config';
import { FIRST_CUSTOMER_ID, syntheticMessage } from './synthetic-customers';

const ProduceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (options: object) => { encode(): Promise<unknown> };
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (options: object) => Record<string, Message[]>;
const createTopicData = require('kafkajs/src/producer/createTopicData.js') as (options: object[]) => Array<{ partitions: Array<{ firstSequence?: number }> }>;
const Long = require('kafkajs/src/utils/long.js') as { fromInt(value: number): unknown };

export type EncodingWay = 'before' | 'now';

function rowsOf(customers: number): CustomerRow[] {
  return Array.from({ length: customers }, (_, i) => {
    const m = syntheticMessage(FIRST_CUSTOMER_ID + i, 1 + (i % 13));
    return { CustomerID: m.customerId, PurchaseCount: m.purchaseCount, RecencyDays: m.recencyDays, Monetary: m.monetary, RecencyScore: m.recencyScore, FrequencyScore: m.frequencyScore, MonetaryScore: m.monetaryScore, RfmSegment: m.segment };
  });
}

/** CPU µs a message to make and encode `customers` messages in chunks of `chunkSize` onto `partitions` partitions. */
export async function encodingCpuPerMessage(way: EncodingWay, compression: KafkaCompression, options: { customers: number; chunkSize: number; partitions: number; runId: string }): Promise<number> {
  registerCompressionCodecs();
  const rows = rowsOf(options.customers);
  const partitionMetadata = Array.from({ length: options.partitions }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  const partitioner: (args: PartitionerArgs) => number = (way === 'before' ? Partitioners.DefaultPartitioner : KeyPartitioner)();
  const stringHeaders = { [RUN_ID_HEADER]: options.runId };
  const bufferHeaders = { [RUN_ID_HEADER]: Buffer.from(options.runId) };
  const started = process.cpuUsage();
  for (let start = 0; start < rows.length; start += options.chunkSize) {
    const chunk = rows.slice(start, start + options.chunkSize);
    const messages: Message[] =
      way === 'before'
        ? chunk.map((row) => ({ ...encodePurchaseCount(messageOfRow(row)), headers: stringHeaders }))
        : chunk.map((row) => {
            const { key, value } = encodeCustomerRow(row);
            return { key, value, headers: bufferHeaders };
          });
    const messagesPerPartition = groupMessagesPerPartition({ topic: 'bench', partitionMetadata, messages, partitioner });
    const topicData = createTopicData([{ topic: 'bench', partitions: Object.keys(messagesPerPartition).map(Number), messagesPerPartition }]);
    for (const { partitions } of topicData) for (const entry of partitions) entry.firstSequence = 0;
    await ProduceRequest({ acks: -1, timeout: 30_000, compression: way === 'before' ? CompressionTypes.None : COMPRESSION_TYPES[compression], topicData, producerId: Long.fromInt(1), producerEpoch: 0 }).encode();
  }
  const { user, system } = process.cpuUsage(started);
  return (user + system) / options.customers;
}
