/** Where the local stack keeps its state and which ports it serves, derived from the app's settings. */
import path from 'node:path';
import { hostOf, loadConfig, portOf, PROJECT_ROOT, setting, type MysqlSettings } from '../../lib/config';

export interface StackSettings {
  stackDir: string;
  toolsDir: string;
  temporal: { address: string; namespace: string; uiPort: number };
  kafka: { brokers: string[]; host: string; port: number; controllerPort: number; topic: string; partitions: number };
  mysql: MysqlSettings;
  mysqlMigration: MysqlSettings;
}

export function loadStackSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const config = loadConfig(env);
  const stackDir = path.resolve(PROJECT_ROOT, setting('STACK_DIR', env));
  const broker = config.kafkaBrokers[0];
  return {
    stackDir,
    toolsDir: path.join(stackDir, 'tools'),
    temporal: {
      address: config.temporalAddress,
      namespace: config.temporalNamespace,
      uiPort: Number(setting('TEMPORAL_UI_PORT', env)),
    },
    kafka: {
      brokers: config.kafkaBrokers,
      host: hostOf(broker),
      port: portOf(broker),
      controllerPort: Number(setting('KAFKA_CONTROLLER_PORT', env)),
      topic: config.kafkaTopic,
      partitions: config.kafkaTopicPartitions,
    },
    mysql: config.mysql,
    mysqlMigration: config.mysqlMigration,
  };
}

export interface ServerStatus {
  name: string;
  up: boolean;
  address: string;
  version?: string;
  /** Set when this stack started the server; absent for one run by someone else (e.g. Docker). */
  pid?: number;
  memoryMiB?: number;
  link?: string;
  problem?: string;
}

/** One of the three servers: how to install it, start it, and tell that it answers. */
export interface StackServer {
  readonly name: 'temporal' | 'kafka' | 'mysql';
  readonly address: string;
  readonly link?: string;
  install(log: (line: string) => void): Promise<void>;
  start(): Promise<void>;
  /** Resolves with the server's version once it serves clients; rejects otherwise. */
  probe(): Promise<string>;
  /** Idempotent set-up once the server answers (topic, database, user). */
  prepare?(): Promise<void>;
  readonly readyTimeoutMs: number;
}
