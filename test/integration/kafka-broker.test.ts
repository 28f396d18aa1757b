/** kafkajs 2.2.4 produces to and consumes from the local Apache Kafka 4 broker. */
import { randomUUID } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { loadConfig } from '../../lib/config';
import { connectKafkaAdmin, ensureTopic, kafkaClient } from '../../lib/kafka';

const config = loadConfig();

test('a message produced with kafkajs is consumed back', async () => {
  const topic = `kafka-broker-test-${randomUUID()}`;
  const admin = await connectKafkaAdmin(config.kafkaBrokers, 'kafka-test-admin');
  const kafka = kafkaClient(config.kafkaBrokers, 'kafka-test');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `kafka-broker-test-${randomUUID()}` });
  try {
    await ensureTopic(admin, topic, 3);
    await ensureTopic(admin, topic, 3); // a second call is a no-op
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0].partitions).toHaveLength(3);

    await producer.connect();
    const [record] = await producer.send({ topic, acks: -1, messages: [{ key: '12748', value: 'hello', headers: { 'run-id': 'r1' } }] });
    expect(record.errorCode).toBe(0);

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ key: string; value: string; runId: string }>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) =>
            resolve({ key: String(message.key), value: String(message.value), runId: String(message.headers?.['run-id']) }),
        })
        .catch(reject);
    });
    expect(received).toEqual({ key: '12748', value: 'hello', runId: 'r1' });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  }
});

test('the application topic exists with its partitions', async () => {
  const admin = await connectKafkaAdmin(config.kafkaBrokers, 'kafka-test-admin');
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [config.kafkaTopic] });
    expect(metadata.topics[0].partitions).toHaveLength(config.kafkaTopicPartitions);
  } finally {
    await admin.disconnect();
  }
});
