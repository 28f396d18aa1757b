/** kafkajs set-up shared by the stack, the publish and consume activities, and the tests. */
import { Kafka, logLevel, type Admin } from 'kafkajs';

/**
 * kafkajs logs every retriable hiccup (a group coordinator still loading on a fresh broker) at
 * ERROR, though it retries them itself. Silenced here: a failure that survives kafkajs's own
 * retries is thrown, and Temporal shows it on the activity (last failure, attempt count).
 */
export function kafkaClient(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    // Retries inside kafkajs are short: Temporal's activity retries are the long-running backoff.
    retry: { retries: 3, initialRetryTime: 200 },
    connectionTimeout: 3_000,
  });
}

export async function connectKafkaAdmin(brokers: string[], clientId: string): Promise<Admin> {
  const admin = kafkaClient(brokers, clientId).admin();
  await admin.connect();
  return admin;
}

/**
 * Creates the topic with `partitions` partitions if it does not exist yet (the broker does not
 * auto-create topics). createTopics answers false, not an error, when it already exists.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
  });
}
