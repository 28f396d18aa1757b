/**
 * Step 4, consume and classify: the consumer side of the older design's Spark job. Reads exactly
 * the offset ranges the publish step returned for its partitions (the workflow runs one such
 * activity per group of partitions, in parallel, on any workers), labels each customer Low or High
 * Frequency and writes, with the customer's RFM values from the message, the run's own rows in `customer_segment_history`. It never touches
 * `customer_segments`: the reconcile step publishes the run's result there, whole, once it checks.
 *
 * The consumer's position is kept in MySQL, not in Kafka: each batch's rows and the partition's
 * next offset are written in one transaction, so a crash or retry resumes exactly after the last
 * committed batch, and nothing is lost or written twice. Each batch's transaction is fenced: an
 * attempt superseded while it was frozen or cut off commits nothing.
 */
import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { PublishedRangeGoneError } from '../lib/errors';
import { connectTopicIdReader } from '../lib/kafka-topic-id';
import { frequencyCategory } from '../lib/segmentation/frequency-category';
import { TABLES } from '../lib/tables';
import type { PartitionRange } from '../lib/partition-range';
import type { ActivityDependencies } from './activity-dependencies';
import { assertBatchStartsAt, assertRangesServable } from './published-range-check';
import { decodePurchaseCount, RUN_ID_HEADER, type PurchaseCountMessage } from './purchase-count-message';
import { claimStepAttempt, type StepFence } from './step-attempt-fence';
import { historyWriterFor, writeClassifiedCustomers, type ClassifiedCustomer, type HistoryWriter } from './write-classified-customers';

/** The ranges were written before this step started: a long silence means the consumer is wedged. */
const STALL_TIMEOUT_MS = 120_000;
/** How often the ranges are checked while reading (see published-range-check.ts): a loss shows within seconds. */
const RANGE_CHECK_INTERVAL_MS = 1_000;
/** The steps' heartbeat timeout (workflows/step-activities.ts), for an attempt run without one (a test). */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 15_000;

export interface ClassifyInput {
  runId: string;
  threshold: number;
  /** Messages per MySQL transaction at most. */
  batchSize: number;
  /** The ranges of the partitions this activity consumes (never shared with another activity). */
  ranges: PartitionRange[];
}

export interface ClassifyResult {
  /** The run's messages read from these partitions, over all attempts (a re-sent chunk counts twice). */
  messagesConsumed: number;
}

/** Heartbeat details of a classify activity. */
export interface ClassifyHeartbeat {
  partitions: number[];
  messagesConsumed: number;
  /** Of the run's messages in these partitions' ranges (other runs' messages included in the offsets). */
  offsetsLeft: number;
}

export function createClassifyCustomers(dependencies: ActivityDependencies) {
  const { db, kafka, topic, metrics, testHooks } = dependencies;
  // The worker detects it at start; without it (tests that build the activity alone), at the first commit.
  let detected: Promise<HistoryWriter> | undefined;
  const historyWriter = () =>
    dependencies.historyWriter ??
    (detected ??= historyWriterFor(db, 'auto', (line) => Context.current().log.warn(line)).catch((error: unknown) => {
      detected = undefined;
      throw error;
    }));
  return async function classifyCustomers({ runId, threshold, batchSize, ranges }: ClassifyInput): Promise<ClassifyResult> {
    const context = Context.current();
    const partitions = ranges.map((range) => range.partition);
    const fence = await claimStepAttempt(dependencies, runId, 'classify', partitions.join('-'));
    /** A Kafka client that has not disconnected in this long is left to close on its own (endWithin). */
    const disconnectWithinMs = context.info.heartbeatTimeoutMs || DEFAULT_HEARTBEAT_TIMEOUT_MS;

    // Where to (re)start each partition: after what an earlier attempt committed, if anything.
    const committed = await committedPositions(db, runId, partitions);
    const next = new Map<number, bigint>();
    const end = new Map<number, bigint>();
    for (const { partition, fromOffset, toOffset } of ranges) {
      const from = BigInt(fromOffset);
      const stored = committed.get(partition)?.nextOffset;
      next.set(partition, stored !== undefined && stored > from ? stored : from);
      end.set(partition, BigInt(toOffset));
    }
    const unfinished = () => partitions.filter((partition) => next.get(partition)! < end.get(partition)!);
    let messagesConsumed = [...committed.values()].reduce((sum, { messagesConsumed: n }) => sum + n, 0);
    const heartbeat = (): ClassifyHeartbeat => ({
      partitions,
      messagesConsumed,
      offsetsLeft: unfinished().reduce((sum, partition) => sum + Number(end.get(partition)! - next.get(partition)!), 0),
    });

    // The lag of each partition while this attempt consumes it; 0 once it ends, however it ends.
    const showLag = (partition: number, ended = false) => metrics?.consumerLag(partition, ended ? 0 : Number(end.get(partition)! - next.get(partition)!));
    for (const partition of partitions) showLag(partition);
    try {
      if (unfinished().length > 0) {
        const admin = kafka.admin();
        const ids = await connectTopicIdReader(kafka);
        const checkRanges = () => assertRangesServable({ admin, ids, topic, ranges, next, unfinished: unfinished() });
        try {
          await admin.connect();
          const topicPartitions = await checkRanges();
          await consume(topicPartitions, checkRanges);
        } finally {
          await endWithin(disconnectWithinMs, 'the admin and topic-id clients', () => Promise.allSettled([admin.disconnect(), ids.disconnect()]));
        }
      }
    } finally {
      for (const partition of partitions) showLag(partition, true);
    }
    return { messagesConsumed };

    async function consume(topicPartitions: number[], checkRanges: () => Promise<unknown>): Promise<void> {
      const others = topicPartitions.filter((partition) => !partitions.includes(partition));
      // A group of its own per run, partitions and activity attempt: activities never share or rebalance
      // each other's partitions, a retry never waits for a dead attempt's member to time out, and
      // since offsets are never committed to Kafka an empty group leaves no trace.
      const consumer = kafka.consumer({
        groupId: `customer-segmentation-${runId}-p${partitions.join('-')}-${context.info.activityId}.${context.info.attempt}`,
        // Fetch about what one transaction commits: the consumer keeps reading from Kafka as it
        // commits, rather than holding a whole partition in memory.
        maxBytesPerPartition: Math.min(4 * 1024 * 1024, Math.max(1024, batchSize * 512)),
        // How long the broker holds a fetch that finds nothing new. The ranges are all on the broker
        // before this step starts, so only the last fetch waits; but `disconnect` waits for it, and at
        // 500 ms that was about 30 % of each activity at 200,000 customers (docs/performance.md).
        maxWaitTimeInMs: 100,
      });
      let lastProgressAt = Date.now();
      // One slice's commit takes well under a second (100,000 rows, the largest batch, about one by
      // LOAD DATA here). One that has run a heartbeat timeout is wedged: MySQL frozen, its connection
      // dropped without a reset, a lock held by a dead session. The attempt then stops beating, so
      // Temporal hands the step on, and ends without waiting longer than that again for the commit
      // (fenced: a newer attempt's claim waits for its transaction, then resumes after it). Below
      // Kafka's session timeout (30 s), too: a batch waiting for a slower commit would lose the group.
      const wedgedAfterMs = context.info.heartbeatTimeoutMs || DEFAULT_HEARTBEAT_TIMEOUT_MS;
      /** Per partition: when the commit that runs now began. */
      const committingSince = new Map<number, number>();
      /** Per partition: the offset after the last message decoded (its commit may still be running). */
      const read = new Map(next);
      /** Per partition: the commit of its last decoded slice, while it runs. */
      const inFlight = new Map<number, Promise<void>>();
      let failed: Error | undefined;
      let resolve: () => void = () => {};
      let reject: (error: Error) => void = () => {};
      /** Aborted when the attempt fails: what waits for a commit stops waiting then (a hung one would hold it, and kafkajs's disconnect waits for eachBatch). */
      const attemptEnded = new AbortController();
      // One waiter per partition at a time (untilCommittedOrEnded): more than Node's 10 is no leak.
      setMaxListeners(partitions.length + 1, attemptEnded.signal);
      const fail = (error: Error) => {
        failed ??= error;
        attemptEnded.abort();
        reject(failed);
      };
      /** Until the commit settles (it never rejects) or the attempt ends; its listener goes with it, so a million slices leave none behind. */
      const untilCommittedOrEnded = (commit: Promise<void> | undefined) =>
        new Promise<void>((done) => {
          if (!commit || attemptEnded.signal.aborted) return done();
          const onEnd = () => done();
          attemptEnded.signal.addEventListener('abort', onEnd, { once: true });
          void commit.finally(() => {
            attemptEnded.signal.removeEventListener('abort', onEnd);
            done();
          });
        });
      /** Commits one slice of a partition; a failure ends the attempt (a retry resumes from MySQL's position). */
      const commit = async (slice: Parameters<typeof commitBatch>[1]): Promise<void> => {
        if (failed) return;
        committingSince.set(slice.partition, Date.now());
        try {
          await commitBatch(db, slice, await historyWriter(), fence, attemptEnded.signal);
        } catch (error) {
          fail(error as Error);
          return;
        } finally {
          committingSince.delete(slice.partition);
        }
        if (failed) return; // ended while it committed: it no longer reports progress
        next.set(slice.partition, slice.nextOffset);
        messagesConsumed += slice.runMessages;
        metrics?.messagesConsumed(slice.runMessages);
        showLag(slice.partition);
        lastProgressAt = Date.now();
        context.heartbeat(heartbeat());
        if (unfinished().length === 0) resolve();
      };
      const watchdog = setInterval(() => {
        const wedged = [...committingSince].find(([, since]) => Date.now() - since >= wedgedAfterMs);
        if (wedged) {
          clearInterval(watchdog);
          fail(new Error(`the MySQL commit of partition ${wedged[0]}'s batch has run ${Math.round((Date.now() - wedged[1]) / 1000)}s without an answer (MySQL frozen, a connection dropped, a lock held by a dead session); the next attempt resumes after the last commit`));
          return;
        }
        context.heartbeat(heartbeat());
        if (Date.now() - lastProgressAt > STALL_TIMEOUT_MS) {
          fail(new Error(`no message read for ${STALL_TIMEOUT_MS / 1000}s; still to read: partitions ${unfinished().join(', ')}`));
        }
      }, 5_000);
      // Loss shows no error in kafkajs, and a consumer waiting for offsets that will never come reads
      // no batch to check: the ranges are checked on a clock too. Errors other than a loss (Kafka
      // busy, the topic half-deleted) wait for the next check; the stall timeout covers a dead Kafka.
      let checking = false;
      const rangeWatch = setInterval(() => {
        if (checking) return;
        checking = true;
        checkRanges()
          .catch((error) => error instanceof PublishedRangeGoneError && fail(error))
          .finally(() => (checking = false));
      }, RANGE_CHECK_INTERVAL_MS);
      const onCancel = () => fail(context.cancellationSignal.reason as Error);
      context.cancellationSignal.addEventListener('abort', onCancel);
      // A cancel that came before the listener (while the fence was claimed or the admin connected).
      if (context.cancellationSignal.aborted) onCancel();
      try {
        if (failed) throw failed; // cancelled before it started: nothing to connect
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolveRun, rejectRun) => {
          resolve = resolveRun;
          reject = rejectRun;
          if (failed) rejectRun(failed);
          consumer
            .run({
              autoCommit: false,
              // Each partition's batches in order, the partitions side by side: one partition's
              // MySQL commit overlaps another's decoding (each commit holds its own connection).
              partitionsConsumedConcurrently: partitions.length,
              // The batch is decoded here, its MySQL commit runs after eachBatch returns: kafkajs
              // fetches the next batch only once this one's handler is done, so awaiting the commit
              // here would leave Kafka idle while MySQL works, and MySQL idle while Kafka fetches.
              // eslint-disable-next-line @typescript-eslint/unbound-method -- kafkajs's heartbeat is a closure, not a method of the payload
              eachBatch: async ({ batch, heartbeat: keepGroupAlive }) => {
                const partition = batch.partition;
                const to = end.get(partition);
                if (to === undefined || failed || read.get(partition)! >= to) return;
                try {
                  assertBatchStartsAt(topic, ranges.find((range) => range.partition === partition)!, read.get(partition)!, batch.messages.map((m) => m.offset));
                } catch (error) {
                  fail(error as Error);
                  return;
                }
                // Kafka's batch, committed in slices of at most `batchSize` of the run's messages.
                let rows = new Map<number, PurchaseCountMessage>();
                let runMessages = 0;
                let lastOffset = -1n;
                const commitSlice = async () => {
                  if (lastOffset < read.get(partition)!) return;
                  read.set(partition, lastOffset + 1n);
                  const slice = { runId, topic, partition, nextOffset: lastOffset + 1n, rows, runMessages, threshold };
                  rows = new Map();
                  runMessages = 0;
                  // One commit in flight per partition, in offset order: chained onto the one before
                  // synchronously, so the order does not rest on kafkajs calling eachBatch once per
                  // partition at a time; this batch waits for the one before.
                  // Never a rejected link: a throw after a commit fails the attempt, rather than making every
                  // later slice's wait throw into kafkajs (which re-delivers what `read` has passed) until the stall timeout.
                  const before = inFlight.get(partition);
                  inFlight.set(partition, Promise.resolve(before).then(() => commit(slice)).catch(fail));
                  await untilCommittedOrEnded(before);
                  if (failed) return;
                  // kafkajs beats for the group only between batches: a batch of several slices waits for
                  // several commits, and past the session timeout (30 s) the group rebalances and kafkajs
                  // re-reads the partition from its earliest offset (no offsets are committed to Kafka).
                  // After the slice is queued: a rebalance thrown here re-delivers only what `read` skips.
                  await keepGroupAlive();
                };
                for (const message of batch.messages) {
                  const offset = BigInt(message.offset);
                  if (offset < read.get(partition)!) continue;
                  if (offset >= to) break;
                  lastOffset = offset;
                  if (message.headers?.[RUN_ID_HEADER]?.toString() !== runId) continue;
                  let decoded: PurchaseCountMessage;
                  try {
                    decoded = decodePurchaseCount(message.value, `partition ${partition}, offset ${message.offset} of topic "${topic}"`);
                  } catch (error) {
                    fail(error as Error); // consuming the batch again would meet it again
                    return;
                  }
                  rows.set(decoded.customerId, decoded);
                  runMessages += 1;
                  if (runMessages >= batchSize) await commitSlice();
                }
                await commitSlice();
              },
            })
            .then(() => {
              // Start each of ours where this run starts (kafkajs applies it on assignment); leave the others alone.
              for (const [partition, offset] of next) consumer.seek({ topic, partition, offset: offset.toString() });
              if (others.length) consumer.pause([{ topic, partitions: others }]);
            })
            .catch(fail);
          // A topic deleted under the consumer can crash it: say it was a loss, if it was one.
          consumer.on(consumer.events.CRASH, ({ payload }) => {
            checkRanges().then(
              () => fail(payload.error),
              (error) => fail(error instanceof PublishedRangeGoneError ? error : payload.error),
            );
          });
        });
      } finally {
        // The heartbeats stop first: an attempt waiting here for a commit that hangs (MySQL frozen, a
        // connection dropped without a reset) must look dead to Temporal, whose heartbeat timeout then
        // hands the step on (the newer attempt fences this one's commit), not alive until startToClose.
        clearInterval(watchdog);
        clearInterval(rangeWatch);
        // Nothing of this attempt should write after it ends (a stale one's commits are fenced off
        // anyway): its commits are waited for, but a hung one no longer than a heartbeat timeout,
        // so it does not keep the worker's activity slot (its connection stays with the hung query).
        let waited: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled(inFlight.values()), new Promise((done) => (waited = setTimeout(done, wedgedAfterMs)))]);
        clearTimeout(waited);
        // (eachBatch no longer waits for a commit once the attempt failed: see untilCommittedOrEnded.)
        context.cancellationSignal.removeEventListener('abort', onCancel);
        await endWithin(disconnectWithinMs, 'the consumer', async () => {
          await testHooks?.beforeConsumerDisconnect?.();
          await consumer.disconnect();
        });
      }
    }
  };
}

/**
 * Waits for a Kafka client's disconnect, but no longer than `ms`: kafkajs's can wait on a broker
 * that is gone (a CI run killed one of three mid-step, and both classify attempts waited there
 * after their last heartbeat, holding the worker's two activity slots, so their retries were never
 * picked up). Past it the client is left to close on its own; nothing of this attempt writes after
 * its end (its commits are fenced), and a failed disconnect is only logged: the attempt's outcome stands.
 */
async function endWithin(ms: number, what: string, disconnect: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'gave up'>((done) => (timer = setTimeout(() => done('gave up'), ms)));
  const outcome = await Promise.race([
    disconnect().then(
      () => 'disconnected',
      (error: Error) => `failed to disconnect: ${error.message}`,
    ),
    gaveUp,
  ]);
  clearTimeout(timer);
  if (outcome === 'gave up') Context.current().log.warn(`${what} did not disconnect within ${ms / 1000}s; left to close on its own`);
  else if (outcome !== 'disconnected') Context.current().log.warn(`${what} ${outcome}`);
}

/**
 * One batch of one partition: the run's history rows and the consumer position, all or nothing.
 * Fenced when `fence` is given (the activity always gives it): a stale attempt commits nothing.
 * `writer` says how the rows go in (activities/write-classified-customers.ts): LOAD DATA LOCAL
 * INFILE or INSERT, the same rows either way. Exported for the scale bench, which holds it to
 * `LOAD DATA LOCAL INFILE` of the same rows in one statement.
 */
export async function commitBatch(
  db: Knex,
  batch: { runId: string; topic: string; partition: number; nextOffset: bigint; rows: Map<number, PurchaseCountMessage>; runMessages: number; threshold: number },
  writer: HistoryWriter,
  fence?: StepFence,
  /** Aborted once the attempt has ended: a lock conflict is then not retried. */
  attemptEnded?: AbortSignal,
): Promise<void> {
  const now = new Date();
  const history: ClassifiedCustomer[] = [];
  for (const customer of batch.rows.values()) {
    history.push({
      RunId: batch.runId,
      CustomerID: customer.customerId,
      PurchaseCount: customer.purchaseCount,
      FrequencyCategory: frequencyCategory(customer.purchaseCount, batch.threshold),
      RecencyDays: customer.recencyDays,
      Monetary: customer.monetary,
      RecencyScore: customer.recencyScore,
      FrequencyScore: customer.frequencyScore,
      MonetaryScore: customer.monetaryScore,
      RfmSegment: customer.segment,
      RecordedAt: now,
    });
  }
  const write = fence ? fence.write : <T>(work: (trx: Knex.Transaction) => Promise<T>) => db.transaction(work);
  await write(async (trx) => {
    await writeClassifiedCustomers(trx, history, writer);
    await trx(TABLES.consumerOffsets)
      .insert({
        run_id: batch.runId,
        topic: batch.topic,
        partition: batch.partition,
        next_offset: batch.nextOffset.toString(),
        messages_consumed: batch.runMessages,
      })
      .onConflict(['run_id', 'topic', 'partition'])
      .merge({ next_offset: batch.nextOffset.toString(), messages_consumed: trx.raw('messages_consumed + ?', [batch.runMessages]) });
  }, { ended: attemptEnded });
}

async function committedPositions(db: Knex, runId: string, partitions: number[]): Promise<Map<number, { nextOffset: bigint; messagesConsumed: number }>> {
  const rows: Array<{ partition: number; next_offset: string | number; messages_consumed: string | number }> = await db(TABLES.consumerOffsets)
    .where({ run_id: runId })
    .whereIn('partition', partitions)
    .select('partition', 'next_offset', 'messages_consumed');
  return new Map(rows.map((row) => [row.partition, { nextOffset: BigInt(row.next_offset), messagesConsumed: Number(row.messages_consumed) }]));
}
