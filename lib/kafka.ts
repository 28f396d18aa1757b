/** kafkajs set-up shared by the stack, the publish and consume activities, and the tests. */
import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin, type ITopicConfig, type SASLOptions } from 'kafkajs';
import type { KafkaSecurity } from './config';
import { registerCompressionCodecs } from './kafka-compression';

/**
 * Every Kafka client of the project is made here, so SASL and TLS apply to all of them (worker,
 * stack probes, tests). `security` (the config's kafkaSecurity: KAFKA_SASL_*, KAFKA_SSL*) is
 * required, so no client can be made that forgets to authenticate like the rest.
 *
 * kafkajs logs every retriable hiccup (a group coordinator still loading on a fresh broker) at
 * ERROR, though it retries them itself. Silenced here: a failure that survives kafkajs's own
 * retries is thrown, and Temporal shows it on the activity (last failure, attempt count). kafkajs
 * never puts the password in its errors (tested in test/integration/kafka-broker.test.ts).
 */
export function kafkaClient(brokers: string[], clientId: string, security: KafkaSecurity): Kafka {
  // LZ4 batches (KAFKA_COMPRESSION=lz4) can be written and read by every client made here.
  registerCompressionCodecs();
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    // Retries inside kafkajs are short: Temporal's activity retries are the long-running backoff.
    retry: { retries: 3, initialRetryTime: 200 },
    connectionTimeout: 3_000,
    ssl: tlsOptions(security),
    sasl: saslOptions(security),
  });
}

export async function connectKafkaAdmin(brokers: string[], clientId: string, security: KafkaSecurity): Promise<Admin> {
  const admin = kafkaClient(brokers, clientId, security).admin();
  await admin.connect();
  return admin;
}

/** Three copies of every message when the cluster has three brokers or more; fewer cannot be. */
export const MAX_REPLICATION_FACTOR = 3;
/** With three copies, a write counts once two of them have it: one broker may be down, none lost. */
export const MIN_IN_SYNC_REPLICAS = 2;

/**
 * Creates the topic with `partitions` partitions if it does not exist yet (the broker does not
 * auto-create topics). createTopics answers false, not an error, when it already exists.
 *
 * Replicated on min(3, brokers) brokers, counted when the topic is made; from three up, acks=all
 * writes need two in-sync copies (min.insync.replicas=2), so losing one broker loses nothing and
 * stops nothing. The stack makes the topic once every broker it started has joined.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  // Also when it exists: a publish slice beside the one that made it a moment ago sees it listed.
  if ((await admin.listTopics()).includes(topic)) return await untilOffsetsAnswer(admin, topic);
  const { brokers } = await admin.describeCluster();
  const replicationFactor = Math.min(MAX_REPLICATION_FACTOR, brokers.length);
  const configEntries: ITopicConfig['configEntries'] =
    replicationFactor >= MAX_REPLICATION_FACTOR ? [{ name: 'min.insync.replicas', value: String(MIN_IN_SYNC_REPLICAS) }] : [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries }],
  });
  await untilOffsetsAnswer(admin, topic);
}

/**
 * A topic just made has leaders, but for a moment the broker still answers ListOffsets with "not
 * the leader" (3 times in 8 here): the publish step's first attempt on a new topic failed on it
 * and was retried. Made means usable: its offsets answer.
 */
async function untilOffsetsAnswer(admin: Admin, topic: string): Promise<void> {
  for (const deadline = Date.now() + 15_000; ; await sleep(100)) {
    try {
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (error) {
      // Anything else, or a broker that never settles, is the caller's to retry.
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
    }
  }
}

function saslOptions({ sasl }: KafkaSecurity): SASLOptions | undefined {
  if (!sasl) return undefined;
  const { username, password } = sasl;
  // kafkajs's mechanism names: 'plain', 'scram-sha-256', 'scram-sha-512' (the same as ours).
  return { mechanism: sasl.mechanism, username, password: password.reveal() };
}

function tlsOptions({ ssl }: KafkaSecurity): ConnectionOptions | undefined {
  if (!ssl) return undefined;
  return {
    ca: ssl.caFile ? [fs.readFileSync(ssl.caFile, 'utf8')] : undefined,
    cert: ssl.certFile ? fs.readFileSync(ssl.certFile, 'utf8') : undefined,
    key: ssl.keyFile ? fs.readFileSync(ssl.keyFile, 'utf8') : undefined,
  };
}
