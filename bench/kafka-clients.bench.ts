/**
 * Is kafkajs the limit? The same messages (the publish step's: key, JSON value, run-id header)
 * produced and consumed by kafkajs (what the project uses), @confluentinc/kafka-javascript
 * (librdkafka, through its KafkaJS-compatible API) and @platformatic/kafka (pure JavaScript),
 * side by side in one run with Kafka's own ProducerPerformance / ConsumerPerformance on the same
 * broker, rounds interleaved. Kafka only: no MySQL.
 *
 *   npx segment stack up && npx tsx bench/kafka-clients.bench.ts [--messages N] [--rounds N]
 *
 * Every producer is idempotent with acks=all, as the publish step's is, and sends chunks of 2,000
 * messages. kafkajs and @platformatic/kafka send one chunk at a time (both allow one request in
 * flight when idempotent, and @platformatic/kafka fails sends made side by side); librdkafka keeps
 * up to 8 chunks in flight, since it orders them itself. Consumers read a topic of their own
 * group from the start, decode every message and check its header, as the classify step does.
 *
 * The two other clients are not the project's dependencies: the bench installs them, pinned, into
 * .stack/bench-kafka-clients the first time (librdkafka is compiled from the package's sources
 * against the system's OpenSSL and zlib, CKJS_LINKING=dynamic, about 90 s on two cores). Not a
 * test: it prints figures.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CompressionTypes, Partitioners } from 'kafkajs';
import { decodePurchaseCount, encodePurchaseCount, RUN_ID_HEADER } from '../activities/purchase-count-message';
import { syntheticMessage } from './scale/synthetic-customers';
import { kafkaBrokers } from '../infra/stack/kafka-broker';
import { loadStackSettings } from '../infra/stack/stack-settings';
import { loadConfig, PROJECT_ROOT, type KafkaSecurity } from '../lib/config';
import { connectKafkaAdmin, ensureTopic, kafkaClient } from '../lib/kafka';
import { consumerPerformance, producerPerformance } from './scale/kafka-perf-tools';

const CLIENTS_DIR = path.join(PROJECT_ROOT, '.stack', 'bench-kafka-clients');
const PACKAGES = ['@confluentinc/kafka-javascript@1.10.1', '@platformatic/kafka@1.35.0'];
const PARTITIONS = 12;
const CHUNK = 2_000;
const RUN_ID = '6f1f3c2a-3d5e-4b8a-9c1d-2e7f4a5b6c7d';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

type Client = 'kafkajs' | 'confluent' | 'platformatic';
interface Variant {
  produce(topic: string, messages: number): Promise<void>;
  consume(topic: string, messages: number): Promise<void>;
}

/** Installs the two other clients once, pinned, outside the project's dependencies. */
function installClients(): NodeJS.Require {
  const manifest = path.join(CLIENTS_DIR, 'package.json');
  if (!fs.existsSync(path.join(CLIENTS_DIR, 'node_modules', '@platformatic', 'kafka')) ||
      !fs.existsSync(path.join(CLIENTS_DIR, 'node_modules', '@confluentinc', 'kafka-javascript', 'build', 'Release'))) {
    fs.mkdirSync(CLIENTS_DIR, { recursive: true });
    fs.writeFileSync(manifest, JSON.stringify({ name: 'bench-kafka-clients', private: true }));
    const command = ['npm', 'install', '--no-audit', '--no-fund', '--no-save', ...PACKAGES];
    process.stderr.write(`[clients] installing into ${CLIENTS_DIR}: CKJS_LINKING=dynamic ${command.join(' ')}\n`);
    execFileSync(command[0], command.slice(1), { cwd: CLIENTS_DIR, stdio: 'inherit', env: { ...process.env, CKJS_LINKING: 'dynamic' } });
  }
  return createRequire(manifest);
}

function message(index: number) {
  return { ...encodePurchaseCount(syntheticMessage(100_000 + index, 1 + (index % 13))), headers: { [RUN_ID_HEADER]: RUN_ID } };
}

function chunks(messages: number): Array<ReturnType<typeof message>[]> {
  const all = [];
  for (let start = 0; start < messages; start += CHUNK) {
    all.push(Array.from({ length: Math.min(CHUNK, messages - start) }, (_, offset) => message(start + offset)));
  }
  return all;
}

/** What the classify step does with each message before it writes it. */
function check(value: Buffer | string | null, runId: string | undefined): void {
  if (runId !== RUN_ID) throw new Error(`a message of another run: ${runId}`);
  decodePurchaseCount(typeof value === 'string' ? Buffer.from(value) : value, 'the bench topic');
}

function kafkajsVariant(brokers: string[], security: KafkaSecurity): Variant {
  const kafka = kafkaClient(brokers, 'bench-kafkajs', security);
  return {
    async produce(topic, messages) {
      // The publish step's producer.
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      for (const chunk of chunks(messages)) await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: chunk });
      await producer.disconnect();
    },
    async consume(topic, messages) {
      // The classify step's consumer settings (a batch size of 5,000).
      const consumer = kafka.consumer({ groupId: `bench-${randomBytes(4).toString('hex')}`, maxBytesPerPartition: 2_560_000, maxWaitTimeInMs: 500 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let seen = 0;
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            partitionsConsumedConcurrently: PARTITIONS,
            eachBatch: async ({ batch }) => {
              for (const { value, headers } of batch.messages) check(value, headers?.[RUN_ID_HEADER]?.toString());
              seen += batch.messages.length;
              if (seen >= messages) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
    },
  };
}

function confluentVariant(require: NodeJS.Require, brokers: string[]): Variant {
  const { KafkaJS } = require('@confluentinc/kafka-javascript');
  const kafka = new KafkaJS.Kafka({ kafkaJS: { clientId: 'bench-confluent', brokers, logLevel: KafkaJS.logLevel.NOTHING } });
  return {
    async produce(topic, messages) {
      const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 } });
      await producer.connect();
      const inFlight: Promise<unknown>[] = [];
      for (const chunk of chunks(messages)) {
        inFlight.push(producer.send({ topic, messages: chunk }));
        if (inFlight.length >= 8) await inFlight.shift();
      }
      await Promise.all(inFlight);
      await producer.disconnect();
    },
    async consume(topic, messages) {
      const consumer = kafka.consumer({ kafkaJS: { groupId: `bench-${randomBytes(4).toString('hex')}`, fromBeginning: true, autoCommit: false } });
      await consumer.connect();
      await consumer.subscribe({ topic });
      let seen = 0;
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            partitionsConsumedConcurrently: PARTITIONS,
            eachBatch: async ({ batch }: { batch: { messages: Array<{ value: Buffer; headers?: Record<string, Buffer> }> } }) => {
              for (const { value, headers } of batch.messages) check(value, headers?.[RUN_ID_HEADER]?.toString());
              seen += batch.messages.length;
              if (seen >= messages) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
    },
  };
}

function platformaticVariant(require: NodeJS.Require, brokers: string[]): Variant {
  const kafka = require('@platformatic/kafka');
  return {
    async produce(topic, messages) {
      const producer = new kafka.Producer({
        clientId: 'bench-platformatic',
        bootstrapBrokers: brokers,
        serializers: kafka.stringSerializers,
        idempotent: true,
        acks: kafka.ProduceAcks.ALL,
      });
      for (const chunk of chunks(messages)) await producer.send({ messages: chunk.map((entry) => ({ ...entry, topic })) });
      await producer.close();
    },
    async consume(topic, messages) {
      const consumer = new kafka.Consumer({
        groupId: `bench-${randomBytes(4).toString('hex')}`,
        clientId: 'bench-platformatic',
        bootstrapBrokers: brokers,
        deserializers: kafka.stringDeserializers,
      });
      const stream = await consumer.consume({ topics: [topic], mode: kafka.MessagesStreamModes.EARLIEST, autocommit: false });
      let seen = 0;
      for await (const { value, headers } of stream) {
        check(value, headers.get(RUN_ID_HEADER));
        if (++seen >= messages) break;
      }
      await stream.close();
      await consumer.close();
    },
  };
}

async function main(): Promise<void> {
  const messages = option('messages', 1_000_000);
  const rounds = option('rounds', 2);
  const config = loadConfig();
  const brokers = config.kafkaBrokers;
  const stack = loadStackSettings();
  await kafkaBrokers(stack)[0].install((line) => process.stderr.write(`[clients] ${line}\n`));
  const libsDir = path.join(stack.toolsDir, 'kafka', 'libs');
  const require = installClients();
  const variants: Record<Client, Variant> = {
    kafkajs: kafkajsVariant(brokers, config.kafkaSecurity),
    confluent: confluentVariant(require, brokers),
    platformatic: platformaticVariant(require, brokers),
  };
  const recordBytes = (() => {
    const sample = message(500_000);
    return Buffer.byteLength(sample.key) + Buffer.byteLength(sample.value) + RUN_ID_HEADER.length + RUN_ID.length;
  })();

  const admin = await connectKafkaAdmin(brokers, 'bench-clients', config.kafkaSecurity);
  const topics: string[] = [];
  const newTopic = async () => {
    const topic = `bench-clients-${randomBytes(4).toString('hex')}`;
    await ensureTopic(admin, topic, PARTITIONS);
    topics.push(topic);
    return topic;
  };
  const results: Record<string, { produce: number[]; consume: number[] }> = {};
  const add = (name: string, kind: 'produce' | 'consume', perSecond: number) => {
    (results[name] ??= { produce: [], consume: [] })[kind].push(perSecond);
    process.stderr.write(`[clients] ${name} ${kind}: ${Math.round(perSecond).toLocaleString('en')} messages/s\n`);
  };
  try {
    for (let round = 1; round <= rounds; round++) {
      const anchorTopic = await newTopic();
      add('Kafka ProducerPerformance / ConsumerPerformance', 'produce', (await producerPerformance(libsDir, { brokers, topic: anchorTopic, messages, recordBytes })).messagesPerSecond);
      add('Kafka ProducerPerformance / ConsumerPerformance', 'consume', (await consumerPerformance(libsDir, { brokers, topic: anchorTopic, messages })).messagesPerSecond);
      for (const [name, variant] of Object.entries(variants)) {
        const topic = await newTopic();
        for (const kind of ['produce', 'consume'] as const) {
          const started = performance.now();
          await variant[kind](topic, messages);
          add(name, kind, messages / ((performance.now() - started) / 1000));
        }
      }
    }
  } finally {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }

  // Each client against the anchor of its own round, so load elsewhere on the machine that comes
  // and goes between rounds does not decide the ratio.
  const [anchorName] = Object.keys(results);
  const anchor = results[anchorName];
  const perRound = (values: number[], anchors: number[]) => median(values.map((value, round) => value / anchors[round]));
  console.log(`\n${messages.toLocaleString('en')} messages of ${recordBytes} bytes, ${PARTITIONS} partitions, ${brokers.join(',')}; medians of ${rounds} interleaved rounds, ratios to the anchor of the same round`);
  console.table(
    Object.entries(results).map(([client, { produce, consume }]) => ({
      client,
      'produce msg/s': Math.round(median(produce)).toLocaleString('en'),
      'x ProducerPerformance': perRound(produce, anchor.produce).toFixed(2),
      'consume msg/s': Math.round(median(consume)).toLocaleString('en'),
      'x ConsumerPerformance': perRound(consume, anchor.consume).toFixed(2),
    })),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

main().then(
  () => process.exit(0), // librdkafka's threads would keep the process alive a while
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
