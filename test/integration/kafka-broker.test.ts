/** kafkajs 2.2.4 produces to and consumes from the local Apache Kafka 4 broker, in plaintext and over SASL. */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { inspect } from 'node:util';
import { Partitioners, type Kafka } from 'kafkajs';
import { managedProcess, runningPid } from '../../infra/stack/managed-process';
import { loadStackSettings } from '../../infra/stack/stack-settings';
import { loadConfig, loadKafkaSecurity } from '../../lib/config';
import { connectKafkaAdmin, ensureTopic, kafkaClient } from '../../lib/kafka';

const config = loadConfig();
const stack = loadStackSettings();

/** Produces one message and reads it back through `kafka`. */
async function roundTrip(kafka: Kafka, topic: string): Promise<{ key: string; value: string; runId: string }> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `kafka-broker-test-${randomUUID()}` });
  try {
    await producer.connect();
    const [record] = await producer.send({ topic, acks: -1, messages: [{ key: '12748', value: 'hello', headers: { 'run-id': 'r1' } }] });
    expect(record.errorCode).toBe(0);

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) =>
            resolve({ key: String(message.key), value: String(message.value), runId: String(message.headers?.['run-id']) }),
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

test('a message produced with kafkajs is consumed back', async () => {
  const topic = `kafka-broker-test-${randomUUID()}`;
  const admin = await connectKafkaAdmin(config.kafkaBrokers, 'kafka-test-admin', config.kafkaSecurity);
  try {
    await ensureTopic(admin, topic, 3);
    await ensureTopic(admin, topic, 3); // a second call is a no-op
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0].partitions).toHaveLength(3);
    expect(await roundTrip(kafkaClient(config.kafkaBrokers, 'kafka-test', config.kafkaSecurity), topic)).toEqual({ key: '12748', value: 'hello', runId: 'r1' });
  } finally {
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  }
});

test("a topic ensureTopic has just made answers its offsets at once (the publish step's first look)", async () => {
  // Without the wait in ensureTopic, 3 of 8 fresh topics answered "not the leader" here.
  const admin = await connectKafkaAdmin(config.kafkaBrokers, 'kafka-test-admin', config.kafkaSecurity);
  const topics = Array.from({ length: 8 }, () => `kafka-broker-test-${randomUUID()}`);
  try {
    for (const topic of topics) {
      await ensureTopic(admin, topic, 6);
      expect(await admin.fetchTopicOffsets(topic)).toHaveLength(6);
    }
  } finally {
    await admin.deleteTopics({ topics });
    await admin.disconnect();
  }
});

test('the application topic exists with its partitions', async () => {
  const admin = await connectKafkaAdmin(config.kafkaBrokers, 'kafka-test-admin', config.kafkaSecurity);
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [config.kafkaTopic] });
    expect(metadata.topics[0].partitions).toHaveLength(config.kafkaTopicPartitions);
  } finally {
    await admin.disconnect();
  }
});

describe('the SASL/PLAIN listener', () => {
  const saslBrokers = stack.kafka.nodes.map((node) => `${stack.kafka.host}:${node.saslPort}`);
  const username = stack.kafka.saslUser.username;
  const password = stack.kafka.saslUser.password.reveal();
  /** A client configured the way the worker is: from KAFKA_SASL_* variables. */
  const saslClient = (pass: string) =>
    kafkaClient(
      saslBrokers,
      'kafka-sasl-test',
      loadKafkaSecurity({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: pass }),
    );
  const topic = `kafka-sasl-test-${randomUUID()}`;

  beforeAll(async () => {
    const admin = await connectKafkaAdmin(config.kafkaBrokers, 'kafka-test-admin', config.kafkaSecurity);
    await ensureTopic(admin, topic, 1).finally(() => admin.disconnect());
  });

  afterAll(async () => {
    const admin = await connectKafkaAdmin(config.kafkaBrokers, 'kafka-test-admin', config.kafkaSecurity);
    await admin.deleteTopics({ topics: [topic] }).finally(() => admin.disconnect());
  });

  test('a client with the right password produces and consumes', async () => {
    expect(await roundTrip(saslClient(password), topic)).toEqual({ key: '12748', value: 'hello', runId: 'r1' });
  });

  test('a wrong password is refused, clearly, and no password shows in the error or the broker log', async () => {
    const wrongPassword = `wrong-${randomUUID()}`;
    const admin = saslClient(wrongPassword).admin();
    const error: Error = await admin.connect().then(
      () => {
        throw new Error('connected with a wrong password');
      },
      (refused: Error) => refused,
    );
    await admin.disconnect();

    expect(error.name).toBe('KafkaJSSASLAuthenticationError');
    expect(error.message).toMatch(/^SASL PLAIN authentication failed: .*invalid username or password/i);
    const everything = [String(error), error.stack, JSON.stringify(error), inspect(error, { depth: 5 })].join('\n');
    expect(everything).not.toContain(wrongPassword);
    expect(everything).not.toContain(password);

    // The broker's log names neither password either. Every broker the stack started has its log
    // (a broker someone else runs, e.g. in Docker, logs elsewhere), and at least one is read: a
    // check that read no log would prove nothing.
    const logsRead: string[] = [];
    for (const node of stack.kafka.nodes) {
      const proc = managedProcess(stack.stackDir, node.name);
      if (runningPid(proc) === undefined) continue;
      const log = fs.readFileSync(proc.logFile, 'utf8');
      expect(log).not.toContain(wrongPassword);
      expect(log).not.toContain(`"${password}"`);
      logsRead.push(proc.logFile);
    }
    expect(logsRead).not.toHaveLength(0);
  });

  test('a client without SASL settings reads nothing through the listener', async () => {
    const admin = kafkaClient(saslBrokers, 'kafka-sasl-test', {}).admin();
    try {
      await expect(admin.connect().then(() => admin.listTopics())).rejects.toThrow();
    } finally {
      await admin.disconnect();
    }
  });
});
