/**
 * Step 3, publish: sends every customer's PurchaseCount to Kafka in chunks of `chunkSize`
 * messages and returns, per partition, the offset range the run wrote: the consumer reads
 * exactly those ranges.
 *
 * The range starts at each partition's end offset before the first chunk; those start offsets
 * and the last customer sent travel in the heartbeat, so a retry resumes after the last chunk it
 * knows was acknowledged. A chunk re-sent after a crash shows up twice in the range; the consumer
 * keeps one row per customer, so the result is the same.
 */
import { Context } from '@temporalio/activity';
import { CompressionTypes, Partitioners } from 'kafkajs';
import { ensureTopic } from '../lib/kafka';
import type { ActivityDependencies } from './activity-dependencies';
import { encodePurchaseCount, RUN_ID_HEADER, type PartitionRange } from './purchase-count-message';
import { markStepCompleted, markStepStarted } from './run-log';
import { STAGING_COUNTS } from './staging';

export interface PublishInput {
  runId: string;
  chunkSize: number;
}

export interface PublishResult {
  messagesPublished: number;
  chunks: number;
  ranges: PartitionRange[];
}

/** Heartbeat details of the publish step. */
export interface PublishCheckpoint {
  startOffsets: Record<number, string>;
  lastCustomerId: number;
  chunks: number;
  messagesPublished: number;
  customers: number;
}

export function createPublishPurchaseCounts({ db, kafka, topic, topicPartitions }: ActivityDependencies) {
  return async function publishPurchaseCounts({ runId, chunkSize }: PublishInput): Promise<PublishResult> {
    const context = Context.current();
    const admin = kafka.admin();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      let checkpoint = context.info.heartbeatDetails as PublishCheckpoint | undefined;
      if (!checkpoint) {
        await markStepStarted(db, runId, 'publish');
        await ensureTopic(admin, topic, topicPartitions);
        const [{ count }] = await db(STAGING_COUNTS).where({ run_id: runId }).count({ count: '*' });
        checkpoint = {
          startOffsets: endOffsets(await admin.fetchTopicOffsets(topic)),
          lastCustomerId: -1,
          chunks: 0,
          messagesPublished: 0,
          customers: Number(count),
        };
        context.heartbeat(checkpoint);
      }

      for (;;) {
        // Keyset pagination: each chunk is the next `chunkSize` customers after the last one sent.
        const chunk: Array<{ CustomerID: number; PurchaseCount: number }> = await db(STAGING_COUNTS)
          .where({ run_id: runId })
          .andWhere('CustomerID', '>', checkpoint.lastCustomerId)
          .orderBy('CustomerID')
          .limit(chunkSize)
          .select('CustomerID', 'PurchaseCount');
        if (chunk.length === 0) break;
        await producer.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: chunk.map((row) => ({
            ...encodePurchaseCount({ customerId: row.CustomerID, purchaseCount: row.PurchaseCount }),
            headers: { [RUN_ID_HEADER]: runId },
          })),
        });
        checkpoint.lastCustomerId = chunk[chunk.length - 1].CustomerID;
        checkpoint.chunks += 1;
        checkpoint.messagesPublished += chunk.length;
        context.heartbeat(checkpoint);
      }

      const toOffsets = endOffsets(await admin.fetchTopicOffsets(topic));
      const ranges = Object.keys(toOffsets)
        .map(Number)
        .sort((a, b) => a - b)
        .map((partition) => ({
          partition,
          fromOffset: checkpoint.startOffsets[partition] ?? '0',
          toOffset: toOffsets[partition],
        }));
      const result = { messagesPublished: checkpoint.messagesPublished, chunks: checkpoint.chunks, ranges };
      await markStepCompleted(
        db,
        runId,
        'publish',
        { messagesPublished: result.messagesPublished, chunks: result.chunks },
        { messages_published: result.messagesPublished, published_offsets: JSON.stringify(ranges) },
      );
      return result;
    } finally {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    }
  };
}

/** The offset the next message will get, per partition (the "high watermark"). */
function endOffsets(offsets: Array<{ partition: number; high: string }>): Record<number, string> {
  return Object.fromEntries(offsets.map(({ partition, high }) => [partition, high]));
}
