/**
 * A million customers through the real workflow on real `segment worker` processes, one worker
 * against two, side by side in one run, with Kafka's and MySQL's own tools as anchors on the same
 * broker and database:
 *
 * - classify step, 1 worker process vs 2 (identical results checked against the generator's truth);
 * - publish and consume messages/s vs Kafka's ProducerPerformance / ConsumerPerformance;
 * - MySQL commit rows/s of the classified customers vs LOAD DATA LOCAL INFILE of the same rows;
 * - the reconcile step's publication transaction at a million rows vs a RENAME TABLE swap: a real
 *   switch from another run of the same size, and `segment publish` back to it (a rollback); then
 *   a point lookup by CustomerID, a full scan and the gauges' count per category of the result.
 *
 *   npx segment stack up && npx tsx bench/million-customers.bench.ts [--customers N] [--rounds N] [--publication-only] [--pin]
 *
 * `--publication-only`: one run on one worker, no Kafka or LOAD DATA anchors, then the publication figures.
 * `--pin`: the stack's servers on core 0, the bench, its workers and the anchors' clients on the
 * others (taskset), as if the workers had machines of their own; the servers are unpinned at the end.
 * Every round prints the cores the workers and the servers kept busy during publish and classify.
 *
 * The export is synthetic and staged where the load step leaves its work (bench/scale/
 * synthetic-customers.ts says why); each round is a new run reset to just after its load
 * (bench/scale/reset-after-load.ts). Rounds alternate one worker and two, so a burst of load
 * elsewhere on the machine hits both alike; the anchors run between them. A throw-away database,
 * topics and task queue, dropped at the end. Not a test: it prints figures and asserts only that
 * every run's result is the generator's.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { checkRunResult } from '../activities/reconcile-run';
import { encodePurchaseCount, RUN_ID_HEADER } from '../activities/purchase-count-message';
import { historyWriterFor, type HistoryWriter } from '../activities/write-classified-customers';
import { kafkaBrokers } from '../infra/stack/kafka-broker';
import { loadStackSettings } from '../infra/stack/stack-settings';
import { loadConfig, setting, type AppConfig } from '../lib/config';
import { createDatabase, migrateToLatest } from '../lib/database';
import { connectKafkaAdmin, ensureTopic } from '../lib/kafka';
import { frequencyCategory } from '../lib/segmentation/frequency-category';
import { TABLES } from '../lib/tables';
import { generateWorkbook } from '../lib/workbook/generate-workbook';
import type { SegmentationInput } from '../workflows/segmentation-input';
import { startWorkerProcess, untilPolling, type WorkerProcess } from '../test/support/worker-process';
import { consumerPerformance, producerPerformance } from './scale/kafka-perf-tools';
import { classifyCommitPath, historyRows, loadDataLocalInfile, renameSwap } from './scale/mysql-anchors';
import { copyRun, timePublication, type PublicationTimings, type ReadTimings } from './scale/publication-timings';
import { allCpus, affinity, CpuSampler, pin, serverPids } from './scale/cpu-use';
import { classifyWorkers, runOnSyntheticExport } from './scale/reset-after-load';
import { FIRST_CUSTOMER_ID, syntheticExport, syntheticMessage, type SyntheticExport } from './scale/synthetic-customers';

const THRESHOLD = 5;
const SEED = 7;
/** More partitions than the default 6, so four classify activities get three each. */
const PARTITIONS = 12;
/** Publish and classify activities: two worker processes of two activity slots each. */
const FAN_OUT = 4;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

interface Anchors {
  producer: number;
  consumer: number;
  loadData: number;
  /** The classify step's commit path as the workers detect it (LOAD DATA on the stack), 1 and 2 connections. */
  commitPath1: number;
  commitPath2: number;
  /** The same with INSERT, as on a server with local_infile off. */
  commitPathInsert: number;
}

interface Round {
  round: number;
  workers: number;
  seconds: Record<'aggregate' | 'publish' | 'classify' | 'reconcile', number>;
  messagesPublished: number;
  messagesConsumed: number;
  classifyWorkers: number;
  /** Cores kept busy on average during the step (1.0 = one core all the time). */
  cores: Record<'publish' | 'classify', { workers: number; servers: number }>;
}

async function main(): Promise<void> {
  const customers = option('customers', 1_000_000);
  const publicationOnly = process.argv.includes('--publication-only');
  const pinned = process.argv.includes('--pin');
  const rounds = publicationOnly ? 1 : option('rounds', 3);
  const base = loadConfig();
  const suffix = randomBytes(3).toString('hex');
  const database = `${base.mysql.database}_scale_${suffix}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scale-bench-'));
  const config: AppConfig = {
    ...base,
    taskQueue: `scale-bench-${suffix}`,
    kafkaTopic: `purchase-frequency-scale-${suffix}`,
    kafkaTopicPartitions: PARTITIONS,
    mysql: { ...base.mysql, database },
    mysqlMigration: { ...base.mysqlMigration, database },
    dataDir,
  };
  const anchorTopic = `${config.kafkaTopic}-producer-performance`;
  const inDatabase = (url: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString();
  const workerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_TASK_QUEUE: config.taskQueue,
    KAFKA_TOPIC: config.kafkaTopic,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    MYSQL_URL: inDatabase(setting('MYSQL_URL')),
    MYSQL_MIGRATION_URL: inDatabase(setting('MYSQL_MIGRATION_URL')),
    DATA_DIR: dataDir,
  };
  const log = (line: string) => process.stderr.write(`[scale] ${line}\n`);

  // Kafka's perf tools come with the stack's jars (an older stack fetches them now).
  const stack = loadStackSettings();
  await kafkaBrokers(stack)[0].install(log);
  const libsDir = path.join(stack.toolsDir, 'kafka', 'libs');
  const servers = serverPids(stack.stackDir);
  let placement = 'not pinned: the servers, the workers and the anchors share every core';
  if (pinned) {
    if (os.cpus().length < 2) throw new Error('--pin needs at least 2 cores');
    pin(servers.values(), '0');
    // The bench's own threads, and so every process it starts (workers, the Java perf tools).
    pin([process.pid], `1-${os.cpus().length - 1}`);
    placement = `pinned: ${[...servers].map(([name, pid]) => `${name} on core ${affinity(pid)}`).join(', ')}; the workers and the anchors' clients on core(s) ${affinity(process.pid)}`;
  }
  log(placement);

  const root = await mysql.createConnection(base.mysqlMigration);
  await root.query(`CREATE DATABASE ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const migrations = createDatabase(config.mysqlMigration);
  await migrateToLatest(migrations).finally(() => migrations.destroy());
  const db = createDatabase(config.mysql);
  const admin = await connectKafkaAdmin(config.kafkaBrokers, 'scale-bench', config.kafkaSecurity);
  await ensureTopic(admin, config.kafkaTopic, PARTITIONS);
  await ensureTopic(admin, anchorTopic, PARTITIONS);
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const workers: WorkerProcess[] = [];

  try {
    await generateWorkbook({ outPath: path.join(dataDir, 'seed.xlsx'), rows: 50, seed: SEED });
    log(`generating ${customers.toLocaleString('en')} customers (seed ${SEED})`);
    const truth = syntheticExport(customers, SEED, THRESHOLD);
    const expected = checksum(truth);
    const recordBytes = averageRecordBytes(truth);
    // As many publish activities as classify ones: with two slots per worker, two processes share both steps.
    const input: SegmentationInput = { file: 'seed.xlsx', publishActivities: FAN_OUT, classifyActivities: FAN_OUT, operatorWait: 0, threshold: THRESHOLD };

    const done: Round[] = [];
    const anchors: Array<Anchors> = [];
    // What the workers detect too: LOAD DATA LOCAL INFILE on the stack's MariaDB.
    const writer = await historyWriterFor(db, config.mysqlLocalInfile, log);
    log(`classify's commit path: ${writer.mode}`);
    let lastRunId = '';
    for (let round = 1; round <= rounds; round++) {
      for (const count of publicationOnly ? [1] : [1, 2]) {
        for (let i = 0; i < count; i++) workers.push(startWorkerProcess(workerEnv, path.join(stack.stackDir, 'logs', `scale-worker-${i}.log`)));
        await Promise.all(workers.map((worker) => untilPolling(worker)));
        log(`round ${round}: ${count} worker process(es)`);
        const cpu = new CpuSampler({ workers: workers.map((worker) => worker.pid), servers: [...servers.values()] });
        const run = await runOnSyntheticExport(client, db, config, input, truth).finally(() => cpu.stop());
        const { steps, summary, runId } = run.result;
        const coresDuring = (step: 'publish' | 'classify') => cpu.coresBetween(Date.parse(steps[step].startedAt!), Date.parse(steps[step].finishedAt!)) as { workers: number; servers: number };
        const got = await historyChecksum(db, runId);
        if (JSON.stringify(got) !== JSON.stringify(expected) || summary?.customers !== truth.customers || summary.rowsWritten !== truth.customers) {
          throw new Error(`run ${runId} differs from the generator: ${JSON.stringify({ got, expected, summary })}`);
        }
        const published = await historyChecksum(db, runId, TABLES.segments);
        if (JSON.stringify(published) !== JSON.stringify(expected)) throw new Error(`customer_segments differs from the generator after run ${runId}`);
        done.push({
          round,
          workers: count,
          seconds: { aggregate: steps.aggregate.seconds!, publish: steps.publish.seconds!, classify: steps.classify.seconds!, reconcile: steps.reconcile.seconds! },
          messagesPublished: summary.messagesPublished,
          messagesConsumed: summary.messagesConsumed,
          classifyWorkers: new Set(await classifyWorkers(client, run.workflowId, run.execution)).size,
          cores: { publish: coresDuring('publish'), classify: coresDuring('classify') },
        });
        log(`round ${round}, ${count} worker(s): ${JSON.stringify(done[done.length - 1])}`);
        await Promise.all(workers.splice(0).map((worker) => worker.kill()));
        // Earlier runs' history is the bench's, not a customer's: keep the table one run big, so rounds compare.
        if (lastRunId) await db(TABLES.segmentHistory).where({ RunId: lastRunId }).delete();
        lastRunId = runId;
      }

      if (publicationOnly) break;
      log(`round ${round}: anchors`);
      const producer = await producerPerformance(libsDir, { brokers: config.kafkaBrokers, topic: anchorTopic, messages: customers, recordBytes });
      const consumer = await consumerPerformance(libsDir, { brokers: config.kafkaBrokers, topic: config.kafkaTopic, messages: customers });
      const rows = await historyRows(db, lastRunId);
      const loadData = await loadDataLocalInfile(config.mysqlMigration, lastRunId, rows);
      const commit = (connections: number, writer: HistoryWriter) =>
        classifyCommitPath(db, { runId: `commit-path-${round}-${connections}-${writer.mode}`, rows, partitions: PARTITIONS, batchSize: 5_000, connections, threshold: THRESHOLD, writer });
      const commitPath1 = await commit(1, writer);
      const commitPath2 = await commit(2, writer);
      // The path of a server with local_infile off, for comparison.
      const commitPathInsert = await commit(1, { mode: 'insert', warn: log });
      anchors.push({
        producer: producer.messagesPerSecond,
        consumer: consumer.messagesPerSecond,
        loadData: loadData.rowsPerSecond,
        commitPath1: commitPath1.rowsPerSecond,
        commitPath2: commitPath2.rowsPerSecond,
        commitPathInsert: commitPathInsert.rowsPerSecond,
      });
      log(`round ${round} anchors: ${JSON.stringify(anchors[anchors.length - 1])}`);
    }

    // The reconcile step's two parts at a million rows, a real switch and a rollback, and the swap it does not do.
    const reconcileInput = {
      runId: lastRunId,
      runStartedAt: new Date().toISOString(),
      threshold: THRESHOLD,
      customers: truth.customers,
      purchases: truth.purchases,
      messagesPublished: truth.customers,
      messagesConsumed: truth.customers,
    };
    const checkStarted = performance.now();
    await checkRunResult(db, reconcileInput);
    const checkSeconds = (performance.now() - checkStarted) / 1000;
    const otherRunId = `${lastRunId}-earlier`;
    await copyRun(db, lastRunId, otherRunId);
    const migrator = createDatabase(config.mysqlMigration);
    const publication = await timePublication(db, migrator, reconcileInput, otherRunId, { first: FIRST_CUSTOMER_ID, count: truth.customers });
    await migrator.destroy();
    log(`publication: ${JSON.stringify(publication)}`);
    if (JSON.stringify(await historyChecksum(db, lastRunId, TABLES.segments)) !== JSON.stringify(expected)) throw new Error('customer_segments differs from the generator after the switch');
    const swap = await renameSwap(config.mysqlMigration, lastRunId, truth.customers);
    if (JSON.stringify(await historyChecksum(db, lastRunId, TABLES.segments)) !== JSON.stringify(expected)) throw new Error('the swap changed the result');

    if (publicationOnly) reportPublication(publication, checkSeconds, swap.seconds);
    else report({ customers, truth, recordBytes, done, anchors, checkSeconds, publication, swapSeconds: swap.seconds, placement });
  } finally {
    if (pinned) pin(servers.values(), allCpus());
    await Promise.all(workers.map((worker) => worker.kill()));
    await connection.close();
    await db.destroy();
    await admin.deleteTopics({ topics: [config.kafkaTopic, anchorTopic] }).catch(() => undefined);
    await admin.disconnect();
    await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
    await root.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Checksum {
  customers: number;
  purchases: number;
  high: number;
  /** XOR of CRC32("CustomerID:PurchaseCount:FrequencyCategory") over the rows: any row wrong shows. */
  rows: number;
}

function checksum(data: SyntheticExport): Checksum {
  let rows = 0;
  for (let i = 0; i < data.customers; i++) {
    const count = data.purchaseCounts[i];
    rows = (rows ^ crc32(`${FIRST_CUSTOMER_ID + i}:${count}:${frequencyCategory(count, THRESHOLD)}`)) >>> 0;
  }
  return { customers: data.customers, purchases: data.purchases, high: data.high, rows };
}

async function historyChecksum(db: Knex, runId: string, table: string = TABLES.segmentHistory): Promise<Checksum> {
  const [row] = await db(table)
    .where({ RunId: runId })
    .select(
      db.raw('COUNT(*) AS customers'),
      db.raw('COALESCE(SUM(PurchaseCount), 0) AS purchases'),
      db.raw("COALESCE(SUM(FrequencyCategory = 'High Frequency'), 0) AS high"),
      db.raw("COALESCE(BIT_XOR(CRC32(CONCAT(CustomerID, ':', PurchaseCount, ':', FrequencyCategory))), 0) AS `rows`"),
    );
  return { customers: Number(row.customers), purchases: Number(row.purchases), high: Number(row.high), rows: Number(row.rows) };
}

/** Key, value and run-id header of the publish step's messages, on average: the size the producer anchor sends. */
function averageRecordBytes(data: SyntheticExport): number {
  const header = RUN_ID_HEADER.length + 36; // a Temporal run id is a UUID
  let bytes = 0;
  for (let i = 0; i < data.customers; i++) {
    const { key, value } = encodePurchaseCount(syntheticMessage(FIRST_CUSTOMER_ID + i, data.purchaseCounts[i]));
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value) + header;
  }
  return Math.round(bytes / data.customers);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const rate = (value: number) => Math.round(value).toLocaleString('en');
const ratio = (value: number) => value.toFixed(2);

function report(figures: {
  customers: number;
  truth: SyntheticExport;
  recordBytes: number;
  done: Round[];
  anchors: Array<Anchors>;
  checkSeconds: number;
  publication: PublicationTimings;
  swapSeconds: number;
  placement: string;
}): void {
  const { customers, truth, recordBytes, done, anchors } = figures;
  // Each figure against the anchor of its own round: load elsewhere on the machine comes and goes
  // between rounds, and should not decide a ratio.
  const rounds = anchors.map((anchor, index) => {
    const [one, two] = [1, 2].map((workers) => done.find((round) => round.round === index + 1 && round.workers === workers)!);
    return { anchor, one, two };
  });
  const med = (pick: (round: (typeof rounds)[number]) => number) => median(rounds.map(pick));
  const publishRate = (round: Round) => round.messagesPublished / round.seconds.publish;
  const consumeRate = (round: Round) => round.messagesConsumed / round.seconds.classify;
  const commitRate = (round: Round) => truth.customers / round.seconds.classify;
  const loadData = med((r) => r.anchor.loadData);
  const row = (figure: string, ours: string, anchor: string, value: number, target: string) => ({ figure, ours, anchor, ratio: Number.isNaN(value) ? '' : ratio(value), target });

  console.log(`\n${customers.toLocaleString('en')} customers (${truth.low.toLocaleString('en')} Low, ${truth.high.toLocaleString('en')} High, ` +
    `${truth.purchases.toLocaleString('en')} purchases), ${PARTITIONS} partitions, ${FAN_OUT} publish and classify activities, ` +
    `messages of ${recordBytes} bytes (key + value + run-id header). Every run's result was the generator's.`);

  console.log(`\nPer round (seconds of each step, as the workflow timed it; the anchors ran between the rounds; load average ${os.loadavg().map((value) => value.toFixed(2)).join(' ')} at the end):`);
  console.log(`The processes were ${figures.placement}. Cores: how many the workers and the servers kept busy on average during the step.`);
  console.table(
    done.map((round) => ({
      round: round.round,
      workers: round.workers,
      'ran classify': `${round.classifyWorkers} process(es)`,
      aggregate: ratio(round.seconds.aggregate),
      publish: ratio(round.seconds.publish),
      classify: ratio(round.seconds.classify),
      reconcile: ratio(round.seconds.reconcile),
      'publish cores, workers/servers': `${ratio(round.cores.publish.workers)} / ${ratio(round.cores.publish.servers)}`,
      'classify cores, workers/servers': `${ratio(round.cores.classify.workers)} / ${ratio(round.cores.classify.servers)}`,
      'publish msg/s': rate(round.messagesPublished / round.seconds.publish),
      'ProducerPerf msg/s': rate(anchors[round.round - 1].producer),
      'publish ratio': ratio(round.messagesPublished / round.seconds.publish / anchors[round.round - 1].producer),
      'ConsumerPerf msg/s': rate(anchors[round.round - 1].consumer),
      'LOAD DATA rows/s': rate(anchors[round.round - 1].loadData),
    })),
  );

  console.log(`\nThe figures, each with its anchor, medians of ${rounds.length} round(s); a ratio is taken within each round, then its median:`);
  console.table([
    row('classify step s, 2 worker processes (anchor: 1)', ratio(med((r) => r.two.seconds.classify)), ratio(med((r) => r.one.seconds.classify)),
      med((r) => r.one.seconds.classify / r.two.seconds.classify), 'measurably > 1 (x faster)'),
    row('publish step, messages/s, 1 worker', rate(med((r) => publishRate(r.one))), `${rate(med((r) => r.anchor.producer))} ProducerPerformance`,
      med((r) => publishRate(r.one) / r.anchor.producer), '>= 0.5'),
    row('publish step, messages/s, 2 workers', rate(med((r) => publishRate(r.two))), `${rate(med((r) => r.anchor.producer))} ProducerPerformance`,
      med((r) => publishRate(r.two) / r.anchor.producer), '>= 0.5'),
    row('classify step, messages consumed/s, 1 worker', rate(med((r) => consumeRate(r.one))), `${rate(med((r) => r.anchor.consumer))} ConsumerPerformance`,
      med((r) => consumeRate(r.one) / r.anchor.consumer), '>= 0.5'),
    row('classify step, messages consumed/s, 2 workers', rate(med((r) => consumeRate(r.two))), `${rate(med((r) => r.anchor.consumer))} ConsumerPerformance`,
      med((r) => consumeRate(r.two) / r.anchor.consumer), '>= 0.5'),
    row("classify's commit path alone, rows/s, 1 connection", rate(med((r) => r.anchor.commitPath1)), `${rate(loadData)} LOAD DATA LOCAL INFILE`,
      med((r) => r.anchor.commitPath1 / r.anchor.loadData), '>= 0.33'),
    row("classify's commit path alone, rows/s, 2 connections", rate(med((r) => r.anchor.commitPath2)), `${rate(loadData)} LOAD DATA LOCAL INFILE`,
      med((r) => r.anchor.commitPath2 / r.anchor.loadData), '>= 0.33'),
    row("classify's commit path alone, INSERT (local_infile off), rows/s, 1 connection", rate(med((r) => r.anchor.commitPathInsert)), `${rate(loadData)} LOAD DATA LOCAL INFILE`,
      med((r) => r.anchor.commitPathInsert / r.anchor.loadData), '(reported)'),
    row('classify step (Kafka + MySQL), rows/s, 1 worker', rate(med((r) => commitRate(r.one))), `${rate(loadData)} LOAD DATA LOCAL INFILE`,
      med((r) => commitRate(r.one) / r.anchor.loadData), '>= 0.8'),
    row('classify step (Kafka + MySQL), rows/s, 2 workers', rate(med((r) => commitRate(r.two))), `${rate(loadData)} LOAD DATA LOCAL INFILE`,
      med((r) => commitRate(r.two) / r.anchor.loadData), '>= 0.33'),
    row('publication, a switch from another run, s', ratio(figures.publication.switchSeconds), `${ratio(figures.swapSeconds)} RENAME TABLE swap (needs DDL)`,
      figures.swapSeconds / figures.publication.switchSeconds, '<= 1 s'),
    row('segment publish (rollback), s', ratio(figures.publication.rollbackSeconds), `${ratio(figures.swapSeconds)} RENAME TABLE swap (needs DDL)`,
      figures.swapSeconds / figures.publication.rollbackSeconds, '<= 1 s'),
    row('reconcile: checks, s', ratio(figures.checkSeconds), '', NaN, '(reported)'),
  ]);
  printReaders(figures.publication);
}

function reportPublication(publication: PublicationTimings, checkSeconds: number, swapSeconds: number): void {
  console.log('\nPublication (one run; --publication-only):');
  console.table([
    { figure: 'publication, a switch from another run, s', ours: ratio(publication.switchSeconds), 'RENAME TABLE swap, s': ratio(swapSeconds), target: '<= 1 s' },
    { figure: 'segment publish (rollback), s', ours: ratio(publication.rollbackSeconds), 'RENAME TABLE swap, s': ratio(swapSeconds), target: '<= 1 s' },
    { figure: 'reconcile: checks, s', ours: ratio(checkSeconds), 'RENAME TABLE swap, s': '', target: '(reported)' },
  ]);
  printReaders(publication);
}

/** What readers of customer_segments pay, after the switch, beside a plain table of the same rows. */
function printReaders({ view, plain, lookupPlan }: PublicationTimings): void {
  console.log('\nReading customer_segments (a view since migration 016) and a plain table of the same rows, in the same minute:');
  const line = (read: string, pick: (timings: ReadTimings) => number, digits: number) => ({
    read,
    view: pick(view).toFixed(digits),
    'plain table': pick(plain).toFixed(digits),
    'view / table': (pick(view) / pick(plain)).toFixed(2),
  });
  console.table([
    line(`point lookup by CustomerID, median of ${view.lookups}, ms`, (t) => t.lookupMedianMs, 3),
    line('point lookup by CustomerID, p99, ms', (t) => t.lookupP99Ms, 3),
    line('full scan (every row to the client), s', (t) => t.fullScanSeconds, 2),
    line("database gauges' customers per category, s", (t) => t.gaugeSeconds, 2),
  ]);
  console.log(`EXPLAIN SELECT * FROM customer_segments WHERE CustomerID = ?:\n  ${lookupPlan.join('\n  ')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
