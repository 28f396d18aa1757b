/**
 * The publish step on one worker against Kafka's ProducerPerformance, and the compression codecs
 * side by side, in each round:
 *
 * - Kafka's ProducerPerformance with records of the step's average size (key + value + run-id
 *   header), acks=all and idempotence, as the step sends;
 * - the real publish activity (activities/publish-purchase-counts.ts) run in this process, which is
 *   one worker's core: it reads the run's staged counts from MySQL, encodes and sends them, once per
 *   codec (none, gzip, lz4), each into a topic of its own, whose bytes on the broker are then read
 *   with Kafka's LogDirsCommand; and once more uncompressed, one chunk in flight at a time
 *   (`none@1`), as the step sent before it kept CHUNKS_IN_FLIGHT on their way.
 *
 * Each ratio is taken within its round (the anchor ran minutes, not hours, before), then the
 * median over rounds; the machine's load average is printed beside each round. The activity runs
 * under @temporalio/testing's MockActivityEnvironment (its heartbeats go nowhere; Kafka and MySQL
 * are the stack's), so the figure is the step's own work, without the workflow around it.
 *
 *   npx segment stack up && npx tsx bench/publish-step.bench.ts [--customers N] [--rounds N] [--chunk-size N] [--variants none,gzip,lz4,none@1] [--profile DIR]
 *
 * `--profile DIR` writes a CPU profile of each publication alone (DIR/publish-ROUND-CODEC.cpuprofile,
 * for Chrome's DevTools or `node --cpu-prof`'s readers): where the step's CPU goes per message.
 *
 * The staged counts are synthetic (bench/scale/synthetic-customers.ts's messages), written straight
 * into the staging table the aggregate step fills. A throw-away database and topics, dropped at
 * the end. Not a test: it prints figures and checks only that each publication sent every customer once.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import type { ActivityDependencies } from '../activities/activity-dependencies';
import { CHUNKS_IN_FLIGHT, createPublishPurchaseCounts, type PublishResult } from '../activities/publish-purchase-counts';
import { encodePurchaseCount, RUN_ID_HEADER } from '../activities/purchase-count-message';
import { kafkaBrokers } from '../infra/stack/kafka-broker';
import { loadStackSettings } from '../infra/stack/stack-settings';
import { KAFKA_COMPRESSIONS, loadConfig, type AppConfig, type KafkaCompression } from '../lib/config';
import { createDatabase, migrateToLatest } from '../lib/database';
import { connectKafkaAdmin, ensureTopic, kafkaClient } from '../lib/kafka';
import type { Admin } from 'kafkajs';
import { TABLES } from '../lib/tables';
import { DEFAULT_CHUNK_SIZE } from '../workflows/segmentation-input';
import { producerPerformance, topicBytesOnBroker } from './scale/kafka-perf-tools';
import { encodingCpuPerMessage } from './scale/publish-encoding';
import { FIRST_CUSTOMER_ID, syntheticMessage } from './scale/synthetic-customers';

const PARTITIONS = 12;
const ROWS_PER_INSERT = 10_000;

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

/** A way of publishing: its codec, and `@N` for N chunks in flight if not the step's CHUNKS_IN_FLIGHT ("none@1": one chunk at a time, as before). */
type Variant = string;
const variantOf = (variant: Variant) => {
  const [codec, inFlight] = variant.split('@');
  if (!KAFKA_COMPRESSIONS.includes(codec as KafkaCompression)) throw new Error(`--variants: "${codec}" is not one of ${KAFKA_COMPRESSIONS.join(', ')}`);
  return { codec: codec as KafkaCompression, inFlight: inFlight ? Number(inFlight) : CHUNKS_IN_FLIGHT };
};

interface Publication {
  codec: Variant;
  seconds: number;
  /** CPU time of this process (user + system) while it published: the step's own cost, whatever else the machine runs. */
  cpuSeconds: number;
  messages: number;
  bytesOnBroker: number;
}

/** Making and encoding the messages alone, no broker (bench/scale/publish-encoding.ts): the step as it was, and now with each codec. */
const ENCODINGS = [
  { name: 'before, none', way: 'before', codec: 'none' },
  { name: 'now, none', way: 'now', codec: 'none' },
  { name: 'now, lz4', way: 'now', codec: 'lz4' },
  { name: 'now, gzip', way: 'now', codec: 'gzip' },
] as const;
const ENCODING_CUSTOMERS = 100_000;

interface Round {
  round: number;
  load: string;
  /** CPU µs a message of each of ENCODINGS, by name. */
  encoding: Record<string, number>;
  producerPerformance: number;
  publications: Publication[];
}

/** The synthetic customers' rows, as the aggregate step stages them. */
async function stageCounts(db: Knex, runId: string, customers: number): Promise<void> {
  for (let start = 0; start < customers; start += ROWS_PER_INSERT) {
    const rows = [];
    for (let i = start; i < Math.min(customers, start + ROWS_PER_INSERT); i++) {
      const m = syntheticMessage(FIRST_CUSTOMER_ID + i, 1 + (i % 13));
      rows.push({
        run_id: runId,
        CustomerID: m.customerId,
        PurchaseCount: m.purchaseCount,
        RecencyDays: m.recencyDays,
        Monetary: m.monetary,
        RecencyScore: m.recencyScore,
        FrequencyScore: m.frequencyScore,
        MonetaryScore: m.monetaryScore,
        RfmSegment: m.segment,
      });
    }
    await db(TABLES.stagingCounts).insert(rows);
  }
}

function averageRecordBytes(customers: number): number {
  const header = RUN_ID_HEADER.length + 36;
  let bytes = 0;
  const step = Math.max(1, Math.floor(customers / 10_000));
  let sampled = 0;
  for (let i = 0; i < customers; i += step, sampled++) {
    const { key, value } = encodePurchaseCount(syntheticMessage(FIRST_CUSTOMER_ID + i, 1 + (i % 13)));
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value) + header;
  }
  return Math.round(bytes / sampled);
}

/**
 * The topic, made and answering. On a busy broker a topic just created is sometimes not yet known
 * to the broker that answers (UNKNOWN_TOPIC_OR_PARTITION, retriable): a worker's step is retried by
 * Temporal then; the bench tries again itself.
 */
async function topicMade(admin: Admin, topic: string): Promise<void> {
  for (let tries = 1; ; tries++) {
    try {
      return await ensureTopic(admin, topic, PARTITIONS);
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || tries >= 5) throw error;
    }
  }
}

/** The V8 profiler of this process, from now until stop(). */
async function startProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const rate = (value: number) => Math.round(value).toLocaleString('en');
const loadAverage = () => os.loadavg().map((value) => value.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const customers = Number(option('customers', '1000000'));
  const rounds = Number(option('rounds', '3'));
  const chunkSize = Number(option('chunk-size', String(DEFAULT_CHUNK_SIZE)));
  const profileDir = option('profile', '');
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const codecs: Variant[] = option('variants', [...KAFKA_COMPRESSIONS, 'none@1'].join(',')).split(',');
  codecs.forEach(variantOf);
  const base = loadConfig();
  const suffix = randomBytes(3).toString('hex');
  const database = `${base.mysql.database}_publish_${suffix}`;
  const config: AppConfig = { ...base, mysql: { ...base.mysql, database }, mysqlMigration: { ...base.mysqlMigration, database } };
  const topicPrefix = `purchase-frequency-publish-bench-${suffix}`;
  const log = (line: string) => process.stderr.write(`[publish] ${line}\n`);

  const stack = loadStackSettings();
  await kafkaBrokers(stack)[0].install(log);
  const libsDir = path.join(stack.toolsDir, 'kafka', 'libs');

  const root = await mysql.createConnection(base.mysqlMigration);
  await root.query(`CREATE DATABASE ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const migrations = createDatabase(config.mysqlMigration);
  await migrateToLatest(migrations).finally(() => migrations.destroy());
  const db = createDatabase(config.mysql);
  const admin = await connectKafkaAdmin(config.kafkaBrokers, 'publish-bench', config.kafkaSecurity);
  const kafka = kafkaClient(config.kafkaBrokers, 'publish-bench', config.kafkaSecurity);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-bench-'));
  const topics: string[] = [];
  const runId = `publish-bench-${suffix}`;
  try {
    log(`staging ${customers.toLocaleString('en')} customers`);
    await stageCounts(db, runId, customers);
    const recordBytes = averageRecordBytes(customers);
    const done: Round[] = [];
    let attempt = 0;
    // A warm-up, so the first round's encodings do not pay for the JIT.
    for (const { way, codec } of ENCODINGS) await encodingCpuPerMessage(way, codec, { customers: ENCODING_CUSTOMERS, chunkSize, partitions: PARTITIONS, runId });
    for (let round = 1; round <= rounds; round++) {
      const load = loadAverage();
      const anchorTopic = `${topicPrefix}-anchor-${round}`;
      topics.push(anchorTopic);
      await topicMade(admin, anchorTopic);
      const anchor = await producerPerformance(libsDir, { brokers: config.kafkaBrokers, topic: anchorTopic, messages: customers, recordBytes });
      log(`round ${round} (load ${load}): ProducerPerformance ${rate(anchor.messagesPerSecond)} msg/s`);
      const encoding: Record<string, number> = {};
      for (const { name, way, codec } of ENCODINGS) encoding[name] = await encodingCpuPerMessage(way, codec, { customers: ENCODING_CUSTOMERS, chunkSize, partitions: PARTITIONS, runId });
      log(`round ${round}: encoding alone, CPU µs a message: ${JSON.stringify(Object.fromEntries(Object.entries(encoding).map(([name, us]) => [name, Number(us.toFixed(1))])))}`);
      const publications: Publication[] = [];
      // Each round starts with another codec, so a burst of load elsewhere does not always hit the same one.
      const order = codecs.map((_, index) => codecs[(index + round - 1) % codecs.length]);
      for (const codec of order) {
        const topic = `${topicPrefix}-${codec.replace('@', '-')}-${round}`;
        topics.push(topic);
        // Made before the clock starts, as a worker's topic is: the step's own ensureTopic then finds it.
        await topicMade(admin, topic);
        const dependencies: ActivityDependencies = {
          db,
          kafka,
          topic,
          topicPartitions: PARTITIONS,
          dataDir,
          retention: config.retention,
          publishCompression: variantOf(codec).codec,
          publishChunksInFlight: variantOf(codec).inFlight,
        };
        const activity = new MockActivityEnvironment({ activityId: `publish-bench-${++attempt}`, attempt: 1, scheduledTimestampMs: Date.now() });
        const profiler = profileDir ? await startProfile() : undefined;
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const result: PublishResult = await activity.run(createPublishPurchaseCounts(dependencies), { runId, chunkSize });
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        if (profiler) await profiler.stop(path.join(profileDir, `publish-${round}-${codec}.cpuprofile`));
        const sent = result.ranges.reduce((sum, range) => sum + Number(BigInt(range.toOffset) - BigInt(range.fromOffset)), 0);
        if (result.messagesPublished !== customers || sent !== customers) throw new Error(`${codec}: ${result.messagesPublished} published, ${sent} in the ranges, of ${customers}`);
        const bytesOnBroker = await topicBytesOnBroker(libsDir, { brokers: config.kafkaBrokers, topic });
        publications.push({ codec, seconds, cpuSeconds, messages: customers, bytesOnBroker });
        log(`round ${round}: ${codec} ${rate(customers / seconds)} msg/s (${(customers / seconds / anchor.messagesPerSecond).toFixed(2)}x), ${((cpuSeconds / customers) * 1e6).toFixed(1)} µs CPU a message, ${(bytesOnBroker / 1e6).toFixed(1)} MB on the broker`);
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      }
      await admin.deleteTopics({ topics: [anchorTopic] }).catch(() => undefined);
      done.push({ round, load, encoding, producerPerformance: anchor.messagesPerSecond, publications });
    }
    report({ customers, recordBytes, chunkSize, codecs, done });
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await db.destroy();
    await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
    await root.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function report({ customers, recordBytes, chunkSize, codecs, done }: { customers: number; recordBytes: number; chunkSize: number; codecs: Variant[]; done: Round[] }): void {
  const of = (round: Round, codec: Variant) => round.publications.find((publication) => publication.codec === codec)!;
  const msgs = (publication: Publication) => publication.messages / publication.seconds;
  console.log(
    `\nThe publish step on one worker (this process), ${customers.toLocaleString('en')} customers, ${PARTITIONS} partitions, chunks of ${chunkSize}, ` +
      `messages of ${recordBytes} bytes (key + value + run-id header) on average; ProducerPerformance sends as many records of that size, acks=all, idempotent.`,
  );
  console.log('\nPer round (load average 1/5/15 min when the round began):');
  console.table(
    done.map((round) => ({
      round: round.round,
      load: round.load,
      'ProducerPerf msg/s': rate(round.producerPerformance),
      ...Object.fromEntries(codecs.flatMap((codec) => [
        [`${codec} msg/s`, rate(msgs(of(round, codec)))],
        [`${codec} ratio`, (msgs(of(round, codec)) / round.producerPerformance).toFixed(2)],
      ])),
    })),
  );
  console.log(`\nMedians of ${done.length} round(s); each ratio is taken within its round, then its median:`);
  const none = codecs.includes('none') ? 'none' : codecs[0];
  console.table(
    codecs.map((codec) => ({
      variant: codec,
      'msg/s': rate(median(done.map((round) => msgs(of(round, codec))))),
      'vs ProducerPerformance': median(done.map((round) => msgs(of(round, codec)) / round.producerPerformance)).toFixed(2),
      [`vs ${none}`]: median(done.map((round) => msgs(of(round, codec)) / msgs(of(round, none)))).toFixed(2),
      'CPU µs/msg': ((median(done.map((round) => of(round, codec).cpuSeconds)) / customers) * 1e6).toFixed(1),
      // Below 100%, the step waited: for the broker's acknowledgements, or for a core another job held.
      'CPU busy': `${Math.round(median(done.map((round) => of(round, codec).cpuSeconds / of(round, codec).seconds)) * 100)}%`,
      'MB on the broker': (median(done.map((round) => of(round, codec).bytesOnBroker)) / 1e6).toFixed(1),
      [`bytes vs ${none}`]: median(done.map((round) => of(round, codec).bytesOnBroker / of(round, none).bytesOnBroker)).toFixed(2),
      target: codec === 'none' ? '>= 0.5 (the default)' : '(reported)',
    })),
  );
  console.log(`\nMaking and encoding the messages alone (kafkajs's produce-request encoder, no broker; ${ENCODING_CUSTOMERS.toLocaleString('en')} messages), this process's CPU, medians of ${done.length} round(s):`);
  console.table(
    ENCODINGS.map(({ name }) => ({
      encoding: name,
      'CPU µs/msg': median(done.map((round) => round.encoding[name])).toFixed(1),
      'vs before': median(done.map((round) => round.encoding[name] / round.encoding['before, none'])).toFixed(2),
    })),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
