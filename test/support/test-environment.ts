/**
 * A throw-away slice of the real stack for one test file: its own MySQL database, Kafka topic
 * and Temporal task queue, so test files never see each other's rows, messages or tasks. The
 * worker runs in the test process unless a test needs to kill it.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { stackStatus } from '../../infra/stack/stack';
import { loadConfig, mysqlConnectionOptions, setting, temporalConnectionOptions, type AppConfig } from '../../lib/config';
import { createDatabase, migrateToLatest } from '../../lib/database';
import { connectKafkaAdmin } from '../../lib/kafka';
import type { SegmentationActivities } from '../../activities';
import type { ActivityTestHooks } from '../../activities/step-attempt-fence';
import { createSegmentationWorker, type SegmentationWorker } from '../../workers/segmentation-worker';

export interface TestEnvironment {
  config: AppConfig;
  /** Environment variables that point a child `segment` process at the same slice. */
  env: NodeJS.ProcessEnv;
  client: Client;
  db: Knex;
  /** A worker in this process; `decorate` may wrap its activities (to land a fault at an exact point), `testHooks` reach inside them. */
  startWorker(decorate?: (activities: SegmentationActivities) => SegmentationActivities, testHooks?: ActivityTestHooks): Promise<SegmentationWorker>;
  cleanup(): Promise<void>;
}

export async function createTestEnvironment(
  name: string,
  // kafkaBrokers: a Kafka of the test's own (test/integration/kafka-cluster.test.ts) instead of the stack's.
  options: { dataDir: string; kafkaBrokers?: string[] },
): Promise<TestEnvironment> {
  const suffix = `${name}_${randomBytes(3).toString('hex')}`;
  const base = loadConfig();
  const database = `${base.mysql.database}_test_${suffix}`.slice(0, 64);
  const config: AppConfig = {
    ...base,
    kafkaBrokers: options.kafkaBrokers ?? base.kafkaBrokers,
    taskQueue: `test-${suffix}`,
    kafkaTopic: `purchase-frequency-test-${suffix}`,
    mysql: { ...base.mysql, database },
    mysqlMigration: { ...base.mysqlMigration, database },
    dataDir: options.dataDir,
  };
  // The migration user makes the database and its schema; the worker then connects as the DML-only user.
  const admin = await mysql.createConnection(mysqlConnectionOptions(base.mysqlMigration));
  await admin.query(`CREATE DATABASE ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const migrations = createDatabase(config.mysqlMigration);
  await migrateToLatest(migrations).finally(() => migrations.destroy());

  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const db = createDatabase(config.mysql);
  const workers: SegmentationWorker[] = [];
  const runs: Promise<void>[] = [];
  const inDatabase = (url: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString();

  return {
    config,
    env: {
      ...process.env,
      TEMPORAL_TASK_QUEUE: config.taskQueue,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
      KAFKA_TOPIC: config.kafkaTopic,
      MYSQL_URL: inDatabase(setting('MYSQL_URL')),
      MYSQL_MIGRATION_URL: inDatabase(setting('MYSQL_MIGRATION_URL')),
      DATA_DIR: config.dataDir,
      // Many workers run at once in CI: a child serves metrics only where its test gives it a free port.
      METRICS_ADDRESS: 'off',
    },
    client,
    db,
    async startWorker(decorate, testHooks) {
      const worker = await createSegmentationWorker(config, decorate, testHooks);
      workers.push(worker);
      runs.push(worker.run());
      return worker;
    },
    async cleanup() {
      for (const { worker } of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.allSettled(runs);
      await db.destroy();
      await connection.close();
      const kafkaAdmin = await connectKafkaAdmin(config.kafkaBrokers, 'test-cleanup', config.kafkaSecurity);
      await kafkaAdmin.deleteTopics({ topics: [config.kafkaTopic] }).catch(() => undefined);
      await kafkaAdmin.disconnect();
      const root = await mysql.createConnection(mysqlConnectionOptions(base.mysqlMigration));
      await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
      await root.end();
    },
  };
}

/** Outage tests stop and restart a server: only one this project's stack started can be. */
export async function requireManagedServer(name: 'temporal' | 'kafka' | 'mysql'): Promise<void> {
  const [status] = await stackStatus([name]);
  if (status.pid === undefined) {
    throw new Error(`this test stops and restarts ${name}: it needs the one \`segment stack up\` started, not an external server`);
  }
}
