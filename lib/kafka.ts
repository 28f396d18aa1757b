/** kafkajs set-up shared by the stack, the publish and consume activities, and the tests. */
import { Kafka, logLevel, type Admin } from 'kafkajs';

export function kafkaClient(brokers: string[], clientId: string, level = logLevel.ERROR): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: level,
    // Retries inside kafkajs are short: Temporal's activity retries are the long-running backoff.
    retry: { retries: 3, initialRetryTime: 200 },
    connectionTimeout: 3_000,
  });
}

/** An admin client for probes and set-up: quiet, since "not up yet" is expected while waiting. */
export async function connectKafkaAdmin(brokers: string[], clientId: string): Promise<Admin> {
  const admin = kafkaClient(brokers, clientId, logLevel.NOTHING).admin();
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
