/**
 * Every connection setting comes from the environment, in this one place, with the defaults the
 * README, .env.example and docker-compose.yml document. Nothing here logs a secret.
 */
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');

export interface MysqlSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface AppConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaTopicPartitions: number;
  /** The worker's connection: SELECT, INSERT, UPDATE and DELETE on its own tables, nothing more. */
  mysql: MysqlSettings;
  /** The migrations' connection (CREATE, ALTER, DROP, INDEX on the same database). */
  mysqlMigration: MysqlSettings;
  /** The only folder workbooks are read from. */
  dataDir: string;
  retention: StagingRetention;
}

/** How long runs keep their staging rows (what a retry or reset of a step reads). */
export interface StagingRetention {
  /** Completed and superseded runs: the newest this many keep theirs, so they can be reset to any step. */
  keepFinishedRuns: number;
  /** Failed and cancelled runs keep theirs this long after they ended, for an operator to retry or reset them. */
  keepFailedHours: number;
}

export const DEFAULTS = {
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
  TEMPORAL_NAMESPACE: 'default',
  TEMPORAL_TASK_QUEUE: 'customer-segmentation',
  TEMPORAL_UI_PORT: '8233',
  KAFKA_BROKERS: '127.0.0.1:9092',
  KAFKA_TOPIC: 'purchase-frequency',
  KAFKA_TOPIC_PARTITIONS: '6',
  KAFKA_CONTROLLER_PORT: '9093',
  MYSQL_URL: 'mysql://segmentation:segmentation@127.0.0.1:3306/segmentation',
  /** The migrations' user: DDL rights on the same database. The worker's MYSQL_URL user has DML only. */
  MYSQL_MIGRATION_URL: 'mysql://segmentation_migrator:segmentation_migrator@127.0.0.1:3306/segmentation',
  DATA_DIR: path.join(PROJECT_ROOT, 'data'),
  STAGING_KEEP_FINISHED_RUNS: '3',
  STAGING_KEEP_FAILED_HOURS: '168',
  STACK_DIR: path.join(PROJECT_ROOT, '.stack'),
} as const;

type SettingName = keyof typeof DEFAULTS;

export function setting(name: SettingName, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name]?.trim();
  return value ? value : DEFAULTS[name];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  return {
    temporalAddress: setting('TEMPORAL_ADDRESS', env),
    temporalNamespace: setting('TEMPORAL_NAMESPACE', env),
    taskQueue: setting('TEMPORAL_TASK_QUEUE', env),
    kafkaBrokers: setting('KAFKA_BROKERS', env).split(',').map((broker) => broker.trim()),
    kafkaTopic: setting('KAFKA_TOPIC', env),
    kafkaTopicPartitions: positiveInteger('KAFKA_TOPIC_PARTITIONS', env),
    mysql: parseMysqlUrl(setting('MYSQL_URL', env)),
    mysqlMigration: parseMysqlUrl(setting('MYSQL_MIGRATION_URL', env)),
    dataDir: path.resolve(setting('DATA_DIR', env)),
    retention: {
      keepFinishedRuns: positiveInteger('STAGING_KEEP_FINISHED_RUNS', env),
      keepFailedHours: positiveInteger('STAGING_KEEP_FAILED_HOURS', env),
    },
  };
}

export function parseMysqlUrl(url: string): MysqlSettings {
  const parsed = new URL(url);
  if (parsed.protocol !== 'mysql:') throw new Error('MYSQL_URL must start with mysql://');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.replace(/^\//, ''),
  };
}

/** "host:port" → port, for the stack to serve where the clients will look. */
export function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in address "${address}"`);
  return port;
}

export function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

function positiveInteger(name: SettingName, env: NodeJS.ProcessEnv): number {
  const value = Number(setting(name, env));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}
