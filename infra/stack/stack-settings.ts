/**
 * The local stack's settings (`segment stack`, the tests' servers): where it keeps its state, the
 * ports it serves and the tools it runs. Its own variables are here (STACK_DEFAULTS); the
 * addresses it serves on are the app's (lib/config.ts), so the clients find the servers. Only
 * lib/config.ts reads the process's environment: this module takes it as an argument.
 */
import path from 'node:path';
import { hostOf, loadConfig, portOf, processEnvironment, PROJECT_ROOT, setting, type Environment, type KafkaSecurity, type MysqlSettings } from '../../lib/config';
import { localBrokerPort } from '../../lib/local-kafka-ports';
import { Secret } from '../../lib/secret';

/** One broker of the local Kafka cluster (a KRaft node that is broker and controller at once). */
export interface KafkaNode {
  /** KRaft node.id: 1, 2, 3... */
  id: number;
  /** Its process name under STACK_DIR/run and STACK_DIR/logs: `kafka` alone, `kafka-1`... in a cluster. */
  name: string;
  /** Plaintext listener for clients and the other brokers. */
  address: string;
  clientPort: number;
  controllerPort: number;
  /** SASL_PLAINTEXT listener (mechanism PLAIN) for clients that log in. */
  saslPort: number;
}

/** The stack's own variables, none of which the worker or the CLI's clients read. */
export const STACK_DEFAULTS = {
  /** Where `segment stack` keeps the servers' binaries, data and logs. */
  STACK_DIR: path.join(PROJECT_ROOT, '.stack'),
  /** KRaft controller port of the first local broker. */
  KAFKA_CONTROLLER_PORT: '9093',
  /** Where `segment stack up prometheus` serves Prometheus (its API and UI). */
  PROMETHEUS_ADDRESS: '127.0.0.1:9090',
  /** The workers' metrics endpoints it scrapes, comma-separated; empty: METRICS_ADDRESS, the workers' own default. */
  PROMETHEUS_TARGETS: '',
  /** How often it scrapes the workers, and how often it evaluates infra/prometheus/alerts.yml. */
  PROMETHEUS_SCRAPE_INTERVAL: '15s',
  PROMETHEUS_EVALUATION_INTERVAL: '15s',
  /** Alertmanagers it sends alerts to (host:port, comma-separated); empty: none, the alerts are only in its UI and API. */
  PROMETHEUS_ALERTMANAGERS: '',
} as const;


function stackSetting(name: keyof typeof STACK_DEFAULTS, env: Environment): string {
  const value = env[name]?.trim();
  return value ? value : STACK_DEFAULTS[name];
}

export interface StackSettings {
  stackDir: string;
  toolsDir: string;
  temporal: {
    address: string;
    namespace: string;
    uiPort: number;
    /** TEMPORAL_CLI: a `temporal` binary to run instead of the one the stack installs. */
    cli?: string;
  };
  kafka: {
    host: string;
    nodes: KafkaNode[];
    /** Plaintext addresses of every local broker. */
    brokers: string[];
    /** How the stack's own probes connect: the app's KAFKA_SASL_* and KAFKA_SSL* settings. */
    security: KafkaSecurity;
    /** The user the SASL listener accepts: KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD, or segmentation / segmentation. */
    saslUser: { username: string; password: Secret };
    topic: string;
    partitions: number;
    /** The JVM the brokers run on: JAVA_HOME's, or `java` on the PATH. */
    java: string;
  };
  mysql: MysqlSettings;
  mysqlMigration: MysqlSettings;
  prometheus: PrometheusSettings;
}

/** `segment stack up prometheus`: opt-in, never part of a plain `stack up`. */
export interface PrometheusSettings {
  address: string;
  host: string;
  port: number;
  /** host:port of every worker's metrics endpoint; empty when METRICS_ADDRESS is `off` and no targets are named. */
  targets: string[];
  /** The task queue the workers should poll: each target's segmentation_task_queue label, which the alert rules read. */
  taskQueue: string;
  /** Prometheus durations such as 15s or 1m. */
  scrapeInterval: string;
  evaluationInterval: string;
  alertmanagers: string[];
}

export const LOCAL_SASL_USER = 'segmentation';

export function loadStackSettings(env: Environment = processEnvironment()): StackSettings {
  const config = loadConfig(env);
  const stackDir = path.resolve(PROJECT_ROOT, stackSetting('STACK_DIR', env));
  const javaHome = env.JAVA_HOME?.trim();
  // The first address KAFKA_BROKERS names is broker 1's plaintext listener; the rest follow from it.
  const firstBroker = setting('KAFKA_BROKERS', env).split(',')[0].trim();
  const host = hostOf(firstBroker);
  const nodes = kafkaNodes(env, host, portOf(firstBroker));
  return {
    stackDir,
    toolsDir: path.join(stackDir, 'tools'),
    temporal: {
      address: config.temporalAddress,
      namespace: config.temporalNamespace,
      uiPort: Number(setting('TEMPORAL_UI_PORT', env)),
      cli: env.TEMPORAL_CLI?.trim() || undefined,
    },
    kafka: {
      host,
      nodes,
      brokers: nodes.map((node) => node.address),
      security: config.kafkaSecurity,
      saslUser: {
        username: env.KAFKA_SASL_USERNAME?.trim() || LOCAL_SASL_USER,
        password: new Secret(env.KAFKA_SASL_PASSWORD || LOCAL_SASL_USER),
      },
      topic: config.kafkaTopic,
      partitions: config.kafkaTopicPartitions,
      java: javaHome ? path.join(javaHome, 'bin', 'java') : 'java',
    },
    mysql: config.mysql,
    mysqlMigration: config.mysqlMigration,
    prometheus: prometheusSettings(env, config.taskQueue, config.metricsAddress),
  };
}

function prometheusSettings(env: Environment, taskQueue: string, metricsAddress: string | null): PrometheusSettings {
  const address = stackSetting('PROMETHEUS_ADDRESS', env);
  const list = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);
  const named = list(stackSetting('PROMETHEUS_TARGETS', env));
  const targets = named.length ? named : metricsAddress ? [scrapeAddress(metricsAddress)] : [];
  const alertmanagers = list(stackSetting('PROMETHEUS_ALERTMANAGERS', env));
  for (const [name, value] of [...targets.map((t) => ['PROMETHEUS_TARGETS', t]), ...alertmanagers.map((a) => ['PROMETHEUS_ALERTMANAGERS', a]), ['PROMETHEUS_ADDRESS', address]]) {
    if (!/^[^\s/]+:\d+$/.test(value)) throw new Error(`${name} must be host:port (comma-separated where several), not "${value}"`);
  }
  const interval = (name: 'PROMETHEUS_SCRAPE_INTERVAL' | 'PROMETHEUS_EVALUATION_INTERVAL') => {
    const value = stackSetting(name, env);
    if (!/^[1-9]\d*(ms|s|m|h)$/.test(value)) throw new Error(`${name} must be a Prometheus duration such as 15s or 1m, not "${value}"`);
    return value;
  };
  return {
    address,
    host: hostOf(address),
    port: portOf(address),
    targets,
    taskQueue,
    scrapeInterval: interval('PROMETHEUS_SCRAPE_INTERVAL'),
    evaluationInterval: interval('PROMETHEUS_EVALUATION_INTERVAL'),
    alertmanagers,
  };
}

/** A worker bound to every interface (0.0.0.0, [::]) is scraped on loopback. */
function scrapeAddress(metricsAddress: string): string {
  return metricsAddress.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
}

/** The brokers KAFKA_BROKER_COUNT asks for, on the ports lib/local-kafka-ports.ts lays out. */
function kafkaNodes(env: Environment, host: string, firstClientPort: number): KafkaNode[] {
  const count = Number(setting('KAFKA_BROKER_COUNT', env));
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error('KAFKA_BROKER_COUNT must be a whole number from 1 to 9');
  const firstControllerPort = Number(stackSetting('KAFKA_CONTROLLER_PORT', env));
  // Default: the port after the controller's, so each broker's three ports sit side by side.
  const firstSaslPort = Number(env.KAFKA_SASL_PORT?.trim() || firstControllerPort + 1);
  if (!Number.isInteger(firstSaslPort) || firstSaslPort <= 0) throw new Error('KAFKA_SASL_PORT must be a port number');

  const nodes = Array.from({ length: count }, (_, index): KafkaNode => {
    const id = index + 1;
    const clientPort = localBrokerPort(firstClientPort, id);
    return {
      id,
      name: count === 1 ? 'kafka' : `kafka-${id}`,
      address: `${host}:${clientPort}`,
      clientPort,
      controllerPort: localBrokerPort(firstControllerPort, id),
      saslPort: localBrokerPort(firstSaslPort, id),
    };
  });
  const ports = nodes.flatMap((node) => [node.clientPort, node.controllerPort, node.saslPort]);
  const clash = ports.find((port, index) => ports.indexOf(port) !== index);
  if (clash !== undefined) {
    throw new Error(
      `the local Kafka brokers would use port ${clash} twice: KAFKA_BROKERS' port, KAFKA_CONTROLLER_PORT and ` +
        'KAFKA_SASL_PORT must differ, and with several brokers not be 3 apart (each broker n adds 3 × (n − 1))',
    );
  }
  return nodes;
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

/** One server process of the stack: how to install it, start it, and tell that it answers. */
export interface StackServer {
  /** temporal, mysql, and kafka (one broker) or kafka-1, kafka-2... (a cluster). */
  readonly name: string;
  readonly address: string;
  readonly link?: string;
  install(log: (line: string) => void): Promise<void>;
  start(): Promise<void>;
  /** Resolves with the server's version once it serves clients; rejects otherwise. */
  probe(): Promise<string>;
  /** Idempotent set-up once the server answers (topic, database, user). */
  prepare?(): Promise<void>;
  /** Throws, saying what to do, when bringing it up would clash with what runs (a Kafka of another size). */
  checkBeforeUp?(): void;
  /** True when it runs with an older configuration than a start now would write (ports, users). */
  startedWithOlderConfiguration?(): boolean;
  readonly readyTimeoutMs: number;
}
