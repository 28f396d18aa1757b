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
 * Up to CHUNKS_IN_FLIGHT chunks can be on their way at once, each through an idempotent producer
 * of its own (kafkajs lets one idempotent producer have one produce request in flight per broker).
 * Acknowledgements are taken in the order the chunks were sent, so the checkpoint only ever names
 * the end of a run of chunks that were all acknowledged; chunks acknowledged after it are sent
 * again by a retry, as above. One at a time measured as fast as two on one worker beside its
 * broker (docs/performance.md, "The publish step"), so one it is; the bench compares both.
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
import type { Message } from 'kafkajs';
import type { Knex } from 'knex';
import { PublishedRangeGoneError, StagingMissingError } from '../lib/errors';
import { DEFAULTS } from '../lib/config';
import { ensureTopic } from '../lib/kafka';
import { COMPRESSION_TYPES } from '../lib/kafka-compression';
import { KeyPartitioner } from '../lib/kafka-partitioner';
import { fetchTopicId } from '../lib/kafka-topic-id';
import { setPublishedRowsAside } from '../lib/publication/published-run';
import { TABLES } from '../lib/tables';
import type { PartitionRange } from '../lib/partition-range';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { claimStepAttempt } from './step-attempt-fence';
import { encodeCustomerRow, RUN_ID_HEADER, type CustomerRow } from './purchase-count-message';

/** Chunks sent before the oldest is acknowledged, one idempotent producer each: one measured best (docs/performance.md, "The publish step"). */
export const CHUNKS_IN_FLIGHT = 1;

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
  const compression = COMPRESSION_TYPES[dependencies.publishCompression ?? DEFAULTS.KAFKA_COMPRESSION];
  const chunksInFlight = dependencies.publishChunksInFlight ?? CHUNKS_IN_FLIGHT;
  return async function publishPurchaseCounts({ runId, chunkSize, slice = { index: 0, of: 1 } }: PublishInput): Promise<PublishResult> {
    const context = Context.current();
    const fence = await claimStepAttempt(dependencies, runId, 'publish', `${slice.index}/${slice.of}`);
    const admin = kafka.admin();
    const producers = Array.from({ length: chunksInFlight }, () =>
      kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: KeyPartitioner,
      }),
    );
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
      // Beating the checkpoint resumed from (none on a first attempt): each heartbeat replaces the
      // details the next attempt resumes from, and an empty one would make it send the slice again.
      await heartbeatWhile(Promise.all([admin.connect(), ...producers.map((producer) => producer.connect()), forgetEarlierConsumption()]), () => checkpoint);
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
      // One Buffer for every message's header: kafkajs writes it as it is, without encoding the run id again.
      const headers = { [RUN_ID_HEADER]: Buffer.from(runId) };
      // Sends in the order they were made, each resolving to its chunk once the broker acknowledged it.
      const inFlight: Array<Promise<StagedCustomer[]>> = [];
      const acknowledgeOldest = async (current: PublishCheckpoint) => {
        const sent = await inFlight.shift()!;
        current.lastCustomerId = sent[sent.length - 1].CustomerID;
        current.chunks += 1;
        current.messagesPublished += sent.length;
        dependencies.metrics?.messagesPublished(sent.length);
        context.heartbeat(current);
      };
      try {
        let sends = 0;
        let chunk = await readChunk(checkpoint.lastCustomerId);
        while (chunk.length > 0) {
          context.cancellationSignal.throwIfAborted();
          // The next chunk is read from MySQL while this one is sent: the two round trips overlap.
          // (Its failure surfaces at the await below; the no-op handler only keeps it from counting
          // as unhandled if the send fails first.)
          const nextChunk = readChunk(chunk[chunk.length - 1].CustomerID);
          nextChunk.catch(() => undefined);
          if (inFlight.length >= chunksInFlight) await acknowledgeOldest(checkpoint);
          const sending = chunk;
          const send = producers[sends++ % chunksInFlight]
            .send({
              topic,
              acks: -1,
              compression,
              messages: sending.map((row): Message => {
                const { key, value } = encodeCustomerRow(customerRowOf(runId, row));
                return { key, value, headers };
              }),
            })
            .then(() => sending);
          // Surfaces when its turn comes to be acknowledged; until then, not an unhandled rejection.
          send.catch(() => undefined);
          inFlight.push(send);
          chunk = await nextChunk;
        }
        while (inFlight.length > 0) await acknowledgeOldest(checkpoint);
      } finally {
        // A failed send or read: the others still on their way finish (or fail) before the producers disconnect.
        await Promise.allSettled(inFlight);
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
      await Promise.allSettled([...producers.map((producer) => producer.disconnect()), admin.disconnect()]);
    }
  };
}

/** A customer's row of the run's staging counts: no RFM values if a worker from before RFM aggregated it. */
type StagedCustomer = { [Column in keyof CustomerRow]: Column extends 'CustomerID' | 'PurchaseCount' | 'RecencyDays' ? CustomerRow[Column] : CustomerRow[Column] | null };

function customerRowOf(runId: string, row: StagedCustomer): CustomerRow {
  // Aggregated by a worker from before RFM (a run in flight across the upgrade): aggregate again.
  if (row.RfmSegment === null || row.Monetary === null || row.RecencyScore === null || row.FrequencyScore === null || row.MonetaryScore === null) {
    throw new StagingMissingError(`run ${runId} was aggregated by a worker from before RFM segments (customer ${row.CustomerID} has none): retry runs the load again`);
  }
  return row as CustomerRow;
}

/** The offset the next message will get, per partition (the "high watermark"). */
function endOffsets(offsets: Array<{ partition: number; high: string }>): Record<number, string> {
  return Object.fromEntries(offsets.map(({ partition, high }) => [partition, high]));
}
