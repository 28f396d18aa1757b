/**
 * Step 4, consume and classify: the consumer side of the older design's Spark job. Reads exactly
 * the offset ranges the publish step returned, labels each customer Low or High Frequency, and
 * upserts `customer_segments` and the run's history.
 *
 * The consumer's position is kept in MySQL, not in Kafka: each batch's rows and the partition's
 * next offset are written in one transaction, so a crash or retry resumes exactly after the last
 * committed batch, and nothing is lost or written twice.
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { frequencyCategory } from '../lib/segmentation/frequency-category';
import type { ActivityDependencies } from './activity-dependencies';
import { decodePurchaseCount, RUN_ID_HEADER, type PartitionRange } from './purchase-count-message';
import { markStepCompleted, markStepStarted } from './run-log';
import { CONSUMER_OFFSETS } from './staging';

export const SEGMENTS_TABLE = 'customer_segments';
export const HISTORY_TABLE = 'customer_segment_history';
const STALL_TIMEOUT_MS = 120_000;

export interface ClassifyInput {
  runId: string;
  threshold: number;
  ranges: PartitionRange[];
}

export interface ClassifyResult {
  /** Distinct customers of this run read from Kafka and written. */
  customersConsumed: number;
  messagesConsumed: number;
  low: number;
  high: number;
}

export function createClassifyCustomers({ db, kafka, topic }: ActivityDependencies) {
  return async function classifyCustomers({ runId, threshold, ranges }: ClassifyInput): Promise<ClassifyResult> {
    const context = Context.current();
    if (context.info.attempt === 1) await markStepStarted(db, runId, 'classify');

    // Where to (re)start each partition: after what an earlier attempt committed, if anything.
    const committed = await committedOffsets(db, runId, topic);
    const next = new Map<number, bigint>();
    const end = new Map<number, bigint>();
    for (const { partition, fromOffset, toOffset } of ranges) {
      const from = BigInt(fromOffset);
      const stored = committed.get(partition);
      next.set(partition, stored !== undefined && stored > from ? stored : from);
      end.set(partition, BigInt(toOffset));
    }
    const unfinished = () => [...end].filter(([partition, to]) => next.get(partition)! < to).map(([p]) => p);
    let messagesConsumed = 0;
    const progress = () => ({ messagesConsumed, partitionsLeft: unfinished().length });

    if (unfinished().length > 0) {
      // A group of its own per run: runs never share or rebalance each other's partitions, and
      // since offsets are never committed to Kafka the empty group leaves no trace behind.
      const consumer = kafka.consumer({ groupId: `customer-segmentation-${runId}`, maxBytesPerPartition: 4 * 1024 * 1024 });
      let lastProgressAt = Date.now();
      let stalled: (error: Error) => void = () => {};
      const heartbeat = setInterval(() => {
        context.heartbeat(progress());
        // The ranges were written before this step started, so they are all there to read: a
        // long silence means the broker lost them or the consumer is wedged. Fail the attempt
        // (it is retried) rather than heartbeat until the hour-long timeout.
        if (Date.now() - lastProgressAt > STALL_TIMEOUT_MS) {
          stalled(new Error(`no message read for ${STALL_TIMEOUT_MS / 1000}s; still to read: partitions ${unfinished().join(', ')}`));
        }
      }, 5_000);
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          stalled = reject;
          consumer
            .run({
              autoCommit: false,
              eachBatch: async ({ batch, heartbeat: keepGroupAlive }) => {
                const partition = batch.partition;
                const position = next.get(partition);
                const to = end.get(partition);
                if (position === undefined || to === undefined || position >= to) return;
                const rows = new Map<number, number>();
                let lastOffset = position - 1n;
                for (const message of batch.messages) {
                  const offset = BigInt(message.offset);
                  if (offset < position) continue;
                  if (offset >= to) break;
                  lastOffset = offset;
                  if (message.headers?.[RUN_ID_HEADER]?.toString() !== runId) continue;
                  const { customerId, purchaseCount } = decodePurchaseCount(message.value);
                  rows.set(customerId, purchaseCount);
                  messagesConsumed += 1;
                }
                if (lastOffset < position) return;
                await commitBatch(db, { runId, topic, partition, nextOffset: lastOffset + 1n, rows, threshold });
                next.set(partition, lastOffset + 1n);
                lastProgressAt = Date.now();
                context.heartbeat(progress());
                await keepGroupAlive();
                if (unfinished().length === 0) resolve();
              },
            })
            .then(() => {
              // Seek every partition to where this run starts; kafkajs applies it on assignment.
              for (const [partition, offset] of next) consumer.seek({ topic, partition, offset: offset.toString() });
            })
            .catch(reject);
          consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
        });
      } finally {
        clearInterval(heartbeat);
        await consumer.disconnect();
      }
    }

    const result = await runTotals(db, runId);
    await markStepCompleted(
      db,
      runId,
      'classify',
      { customersConsumed: result.customersConsumed, low: result.low, high: result.high },
      { customers_consumed: result.customersConsumed },
    );
    return { ...result, messagesConsumed };
  };
}

/** One batch of one partition: results, history and the consumer position, all or nothing. */
async function commitBatch(
  db: Knex,
  batch: { runId: string; topic: string; partition: number; nextOffset: bigint; rows: Map<number, number>; threshold: number },
): Promise<void> {
  const now = new Date();
  const segments = [...batch.rows].map(([customerId, purchaseCount]) => ({
    CustomerID: customerId,
    PurchaseCount: purchaseCount,
    FrequencyCategory: frequencyCategory(purchaseCount, batch.threshold),
  }));
  await db.transaction(async (trx) => {
    if (segments.length) {
      await trx(SEGMENTS_TABLE)
        .insert(segments.map((row) => ({ ...row, RunId: batch.runId, UpdatedAt: now })))
        .onConflict('CustomerID')
        .merge();
      await trx(HISTORY_TABLE)
        .insert(segments.map((row) => ({ ...row, RunId: batch.runId, RecordedAt: now })))
        .onConflict(['RunId', 'CustomerID'])
        .merge();
    }
    await trx(CONSUMER_OFFSETS)
      .insert({ run_id: batch.runId, topic: batch.topic, partition: batch.partition, next_offset: batch.nextOffset.toString() })
      .onConflict(['run_id', 'topic', 'partition'])
      .merge();
  });
}

async function committedOffsets(db: Knex, runId: string, topic: string): Promise<Map<number, bigint>> {
  const rows: Array<{ partition: number; next_offset: string | number }> = await db(CONSUMER_OFFSETS)
    .where({ run_id: runId, topic })
    .select('partition', 'next_offset');
  return new Map(rows.map((row) => [row.partition, BigInt(row.next_offset)]));
}

/** What the run has written, counted in its history rows (one per customer by their key). */
export async function runTotals(db: Knex, runId: string): Promise<Omit<ClassifyResult, 'messagesConsumed'>> {
  const rows: Array<{ FrequencyCategory: string; customers: number }> = await db(HISTORY_TABLE)
    .where({ RunId: runId })
    .groupBy('FrequencyCategory')
    .select('FrequencyCategory', db.raw('COUNT(*) AS customers'));
  const count = (category: string) => Number(rows.find((row) => row.FrequencyCategory === category)?.customers ?? 0);
  const low = count('Low Frequency');
  const high = count('High Frequency');
  return { customersConsumed: low + high, low, high };
}
