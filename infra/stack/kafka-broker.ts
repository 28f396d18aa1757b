/**
 * Real Apache Kafka brokers in KRaft mode, run from the Maven Central jars that
 * infra/kafka/pom.xml names. No ZooKeeper, no tarball.
 *
 * KAFKA_BROKER_COUNT=1 (the default) is one node, kept in STACK_DIR/kafka as it always was.
 * KAFKA_BROKER_COUNT=N starts N nodes, each its own JVM, in STACK_DIR/kafka-N-brokers/kafka-ID
 * with its pid in STACK_DIR/run/kafka-ID.pid and its log in STACK_DIR/logs/kafka-ID.log.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { connectKafkaAdmin, ensureTopic } from '../../lib/kafka';
import { kafkaProperties } from './kafka-properties';
import { managedProcess, runningPid, startDetached, type ManagedProcess } from './managed-process';
import { runCommand } from './run-command';
import type { KafkaNode, StackServer, StackSettings } from './stack-settings';

export const KAFKA_VERSION = '4.1.1';
const INFRA_DIR = path.join(PROJECT_ROOT, 'infra', 'kafka');
const LOG4J = `-Dlog4j2.configurationFile=${path.join(INFRA_DIR, 'log4j2.properties')}`;

/** One StackServer per broker, so `segment stack up|down|status kafka-2` works on one of them. */
export function kafkaBrokers(settings: StackSettings): StackServer[] {
  return settings.kafka.nodes.map((node) => kafkaBroker(settings, node));
}

function kafkaBroker(settings: StackSettings, node: KafkaNode): StackServer {
  const { nodes, topic, partitions, security } = settings.kafka;
  const libsDir = path.join(settings.toolsDir, 'kafka', 'libs');
  const clusterDir = nodes.length === 1 ? settings.stackDir : path.join(settings.stackDir, `kafka-${nodes.length}-brokers`);
  const nodeDir = path.join(clusterDir, node.name);
  const dataDir = path.join(nodeDir, 'data');
  const propertiesFile = path.join(nodeDir, 'server.properties');
  const proc = managedProcess(settings.stackDir, node.name);
  const { java } = settings.kafka;
  const classpath = `${libsDir}/*`;

  return {
    name: node.name,
    address: node.address,
    readyTimeoutMs: 90_000,

    async install(log) {
      // The broker, and Kafka's own perf tools (the bench's anchors), which older stacks lack.
      const jars = [`kafka_2.13-${KAFKA_VERSION}.jar`, `kafka-tools-${KAFKA_VERSION}.jar`];
      if (jars.every((jar) => fs.existsSync(path.join(libsDir, jar)))) return;
      // Brokers of a cluster install in parallel; one fetch is enough.
      await installOnce(libsDir, async () => {
        log(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libsDir}`);
        await runCommand('mvn', [
          '-q', '-B', '-f', path.join(INFRA_DIR, 'pom.xml'),
          'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libsDir}`,
        ]);
      });
    },

    checkBeforeUp() {
      checkBrokerCount(settings);
    },

    async start() {
      recordBrokerCount(settings);
      fs.mkdirSync(dataDir, { recursive: true });
      // Rewritten at every start so changed ports or password take effect; readable by us only.
      fs.writeFileSync(propertiesFile, kafkaProperties(settings, node, dataDir), { mode: 0o600 });
      fs.chmodSync(propertiesFile, 0o600);
      if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
        const quorum = nodes.length === 1 ? ['--standalone'] : []; // a cluster's voters are in its properties
        await runCommand(java, [LOG4J, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(clusterDir), '-c', propertiesFile, ...quorum]);
      }
      startDetached(proc, java, ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', LOG4J, '-cp', classpath, 'kafka.Kafka', propertiesFile]);
    },

    startedWithOlderConfiguration() {
      try {
        return fs.readFileSync(propertiesFile, 'utf8') !== kafkaProperties(settings, node, dataDir);
      } catch {
        return false; // not started by this stack
      }
    },

    /** This broker answers (a single one may be anyone's, e.g. Docker's) and, in a cluster, has joined it. */
    async probe() {
      const admin = await connectKafkaAdmin([node.address], `stack-probe-${node.name}`, security);
      try {
        const { brokers } = await admin.describeCluster();
        if (nodes.length > 1 && !brokers.some((broker) => broker.nodeId === node.id)) {
          throw new Error(`broker ${node.id} has not joined the cluster yet`);
        }
        return KAFKA_VERSION;
      } finally {
        await admin.disconnect();
      }
    },

    /** The application topic, made once every broker has joined so it gets all its replicas. */
    async prepare() {
      const admin = await connectKafkaAdmin([node.address], `stack-prepare-${node.name}`, security);
      try {
        const { brokers } = await admin.describeCluster();
        if (brokers.length < nodes.length) throw new Error(`${brokers.length} of ${nodes.length} Kafka brokers have joined`);
        await ensureTopic(admin, topic, partitions);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/**
 * Every Kafka process this stack folder may have started, whatever KAFKA_BROKER_COUNT is now:
 * `stack down` stops a three-broker cluster even from a shell where the count is back to one.
 */
export function kafkaProcesses(stackDir: string): ManagedProcess[] {
  let files: string[];
  try {
    files = fs.readdirSync(path.join(stackDir, 'run'));
  } catch {
    return [];
  }
  return files
    .map((file) => /^(kafka(?:-\d+)?)\.pid$/.exec(file)?.[1])
    .filter((name): name is string => name !== undefined)
    .map((name) => managedProcess(stackDir, name));
}

/** Where the stack records how many brokers its running Kafka has. */
function brokerCountFile(stackDir: string): string {
  return path.join(stackDir, 'run', 'kafka-broker-count');
}

/**
 * A cluster cannot grow or shrink by starting brokers of another size beside it (the quorum's
 * voters are fixed), nor be taken for someone else's Kafka: refuse, and say how to switch.
 */
function checkBrokerCount(settings: StackSettings): void {
  const wanted = settings.kafka.nodes.length;
  const file = brokerCountFile(settings.stackDir);
  const running = kafkaProcesses(settings.stackDir).some((proc) => runningPid(proc) !== undefined);
  const recorded = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : undefined;
  if (running && recorded !== undefined && recorded !== wanted) {
    throw new Error(
      `Kafka runs here with ${recorded} broker(s) and KAFKA_BROKER_COUNT asks for ${wanted}: ` +
        '`segment stack down kafka` first (each size keeps its own data folder)',
    );
  }
}

function recordBrokerCount(settings: StackSettings): void {
  const file = brokerCountFile(settings.stackDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${settings.kafka.nodes.length}\n`);
}

export function forgetBrokerCount(stackDir: string): void {
  fs.rmSync(brokerCountFile(stackDir), { force: true });
}

/**
 * The cluster id every node of one cluster is formatted with: 16 random bytes, base64url
 * (what `kafka-storage random-uuid` prints), made by whichever node starts first. Like Kafka's own
 * Uuid.randomUuid, never one that starts with '-': `format -t -Edf…` takes it for an option and
 * fails (one id in 64 did, and a fresh machine's stack then never came up).
 */
function clusterId(clusterDir: string): string {
  const file = path.join(clusterDir, 'cluster-id');
  fs.mkdirSync(clusterDir, { recursive: true });
  // An id with a leading '-' was never formatted with (the format refused it): safe to replace.
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').startsWith('-')) fs.rmSync(file);
  try {
    fs.writeFileSync(file, newClusterId(), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return fs.readFileSync(file, 'utf8').trim();
}

export function newClusterId(): string {
  let id: string;
  do id = crypto.randomBytes(16).toString('base64url');
  while (id.startsWith('-'));
  return id;
}

const installs = new Map<string, Promise<void>>();
function installOnce(key: string, install: () => Promise<void>): Promise<void> {
  let pending = installs.get(key);
  if (!pending) {
    pending = install().finally(() => installs.delete(key));
    installs.set(key, pending);
  }
  return pending;
}
