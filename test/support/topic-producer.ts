/**
 * A producer on the test environment's own topic (made first, with the stack's partition count),
 * for tests that write the classify step's input themselves instead of running the publish step.
 */
import type { Producer } from 'kafkajs';
import { ensureTopic, kafkaClient } from '../../lib/kafka';
import type { TestEnvironment } from './test-environment';

export async function topicProducer(env: TestEnvironment, clientId: string): Promise<Producer> {
  const kafka = kafkaClient(env.config.kafkaBrokers, clientId, env.config.kafkaSecurity);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, env.config.kafkaTopic, env.config.kafkaTopicPartitions).finally(() => admin.disconnect());
  const producer = kafka.producer();
  await producer.connect();
  return producer;
}
