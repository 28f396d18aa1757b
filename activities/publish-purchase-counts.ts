/**
 * Step 3, publish: sends every customer's PurchaseCount and RFM values to Kafka in chunks of `chunkSize`
 * messages and returns, per partition, the offset range the run wrote: the consumer reads
 * exactly those ranges.
 *
 * The range starts at each partition's end offset before the first chunk; those start offsets
 * and the last customer sent travel in the heartbeat, so a retry resumes after the last chunk it
 * knows was acknowledged. A chunk re-sent after a crash shows up twice in the range; the consumer
 * keeps one row per customer, so the result is the same.
 *
 * A publication that starts afresh (not resuming from a heartbeat) first removes what the run
 * consumed from an earlier publication: its consumer positions and its history rows. That delete
 * is fenced per slice: a stale attempt of the slice deletes nothing.
 *
 * The step can run as several activities side by side (`slice` k of n sends the customers whose
 * CustomerID % n = k): encoding messages takes the producer's whole CPU core, so a second worker
 * process roughly doubles the rate. The workflow merges their ranges.
 */
import { Context } from '@temporalio/activity';
import { CompressionTypes, Partitioners } from 'kafkajs';
import type { Knex } from 'knex';
import { PublishedRangeGoneError, StagingMissingError } from '../lib/errors';
import { ensureTopic } from '../lib/kafka';
import { fetchTopicId } from '../lib/kafka-topic-id';
import { setPublishedRowsAside } from '../lib/publication/published-run';
import { TABLES } from '../lib/tables';
import type { PartitionRange } from '../lib/partition-range';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { claimStepAttempt } from './step-attempt-fence';
import { encodePurchaseCount, messageOfRow, RUN_ID_HEADER, type CustomerRow, type PurchaseCountMessage } from './purchase-count-message';

export interface PublishInput {
  runId: string;
  chunkSize: number;
  /** This activity's share of the customers; absent: all of them. */
  slice?: { index: number; of: number };
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
  /** The topic's id when the start offsets were read (lib/kafka-topic-id.ts); absent if the broker cannot say. */
  topicId?: string;
}

export function createPublishPurchaseCounts(dependencies: ActivityDependencies) {
  const { db, kafka, topic, topicPartitions } = dependencies;
  return async function publishPurchaseCounts({ runId, chunkSize, slice = { index: 0, of: 1 } }: PublishInput): Promise<PublishResult> {
    const context = Context.current();
    const fence = await claimStepAttempt(dependencies, runId, 'publish', `${slice.index}/${slice.of}`);
    const admin = kafka.admin();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const inSlice = (query: Knex.QueryBuilder) => (slice.of > 1 ? query.andWhereRaw('?? % ? = ?', ['CustomerID', slice.of, slice.index]) : query);
    let checkpoint = context.info.heartbeatDetails as PublishCheckpoint | undefined;
    // A fresh publication (first attempt, a reset, an operator's retry): what the run consumed
    // from an earlier one refers to offsets it no longer reads.
    const forgetEarlierConsumption = async () => {
      if (checkpoint) return;
      await fence.write(async (trx) => {
        await trx(TABLES.consumerOffsets).where({ run_id: runId }).delete();
        // customer_segments shows the published run's history: a reset of that run keeps it for readers.
        await setPublishedRowsAside(trx, runId);
        await trx(TABLES.segmentHistory).where({ RunId: runId }).delete();
      });
    };
    try {
      await heartbeatWhile(Promise.all([admin.connect(), producer.connect(), forgetEarlierConsumption()]));
      if (!checkpoint) {
        await ensureTopic(admin, topic, topicPartitions);
        const [{ count }] = await inSlice(db(TABLES.stagingCounts).where({ run_id: runId })).count({ count: '*' });
        checkpoint = {
          startOffsets: endOffsets(await admin.fetchTopicOffsets(topic)),
          lastCustomerId: -1,
          chunks: 0,
          messagesPublished: 0,
          customers: Number(count),
          topicId: (await fetchTopicId(kafka, topic)) ?? undefined,
        };
        context.heartbeat(checkpoint);
      }

      // Keyset pagination: each chunk is the next `chunkSize` customers after the last one sent.
      const readChunk = (afterCustomerId: number): Promise<StagedCustomer[]> =>
        inSlice(db(TABLES.stagingCounts).where({ run_id: runId }))
          .andWhere('CustomerID', '>', afterCustomerId)
          .orderBy('CustomerID')
          .limit(chunkSize)
          .select('CustomerID', 'PurchaseCount', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment');
      const headers = { [RUN_ID_HEADER]: runId };
      let chunk = await readChunk(checkpoint.lastCustomerId);
      while (chunk.length > 0) {
        context.cancellationSignal.throwIfAborted();
        // The next chunk is read from MySQL while this one is sent: the two round trips overlap.
        // (Its failure surfaces at the await below; the no-op handler only keeps it from counting
        // as unhandled if the send fails first.)
        const nextChunk = readChunk(chunk[chunk.length - 1].CustomerID);
        nextChunk.catch(() => undefined);
        await producer.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: chunk.map((row) => ({ ...encodePurchaseCount(messageOf(runId, row)), headers })),
        });
        checkpoint.lastCustomerId = chunk[chunk.length - 1].CustomerID;
        checkpoint.chunks += 1;
        checkpoint.messagesPublished += chunk.length;
        dependencies.metrics?.messagesPublished(chunk.length);
        context.heartbeat(checkpoint);
        chunk = await nextChunk;
      }

      const { startOffsets } = checkpoint;
      const toOffsets = endOffsets(await admin.fetchTopicOffsets(topic));
      // The ranges carry the topic's identity, so the consumer can tell a re-created topic from this
      // one. Re-created since the start offsets were read, they would span two topics: publish again.
      // (A checkpoint from before ids were recorded has none to compare.)
      const topicId = (await fetchTopicId(kafka, topic)) ?? undefined;
      if (checkpoint.topicId !== undefined && checkpoint.topicId !== topicId) {
        throw new PublishedRangeGoneError(
          `topic "${topic}" was deleted or created again while this run published to it (id ${checkpoint.topicId ?? 'unknown'} at the start, ` +
            `${topicId ?? 'none'} now): the messages sent before are gone; \`segment retry\` publishes the run's counts again`,
        );
      }
      const ranges = Object.keys(toOffsets)
        .map(Number)
        .sort((a, b) => a - b)
        .map((partition) => ({
          partition,
          fromOffset: startOffsets[partition] ?? '0',
          toOffset: toOffsets[partition],
          topic,
          ...(topicId ? { topicId } : {}),
        }));
      return { messagesPublished: checkpoint.messagesPublished, chunks: checkpoint.chunks, ranges };
    } finally {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    }
  };
}

/** A customer's row of the run's staging counts: no RFM values if a worker from before RFM aggregated it. */
type StagedCustomer = { [Column in keyof CustomerRow]: Column extends 'CustomerID' | 'PurchaseCount' | 'RecencyDays' ? CustomerRow[Column] : CustomerRow[Column] | null };

function messageOf(runId: string, row: StagedCustomer): PurchaseCountMessage {
  // Aggregated by a worker from before RFM (a run in flight across the upgrade): aggregate again.
  if (row.RfmSegment === null || row.Monetary === null || row.RecencyScore === null || row.FrequencyScore === null || row.MonetaryScore === null) {
    throw new StagingMissingError(`run ${runId} was aggregated by a worker from before RFM segments (customer ${row.CustomerID} has none): retry runs the load again`);
  }
  return messageOfRow(row as CustomerRow);
}

/** The offset the next message will get, per partition (the "high watermark"). */
function endOffsets(offsets: Array<{ partition: number; high: string }>): Record<number, string> {
  return Object.fromEntries(offsets.map(({ partition, high }) => [partition, high]));
}
