/**
 * A real Apache Kafka broker, single node in KRaft mode (broker and controller in one JVM), run
 * from the Maven Central jars that infra/kafka/pom.xml names. No ZooKeeper, no tarball.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { connectKafkaAdmin, ensureTopic } from '../../lib/kafka';
import { managedProcess, startDetached } from './managed-process';
import { runCommand } from './run-command';
import type { StackServer, StackSettings } from './stack-settings';

export const KAFKA_VERSION = '4.1.1';
const INFRA_DIR = path.join(PROJECT_ROOT, 'infra', 'kafka');

export function kafkaBroker(settings: StackSettings): StackServer {
  const { host, port, controllerPort, brokers, topic, partitions } = settings.kafka;
  const libsDir = path.join(settings.toolsDir, 'kafka', 'libs');
  const brokerDir = path.join(settings.stackDir, 'kafka');
  const dataDir = path.join(brokerDir, 'data');
  const propertiesFile = path.join(brokerDir, 'server.properties');
  const proc = managedProcess(settings.stackDir, 'kafka');
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const classpath = `${libsDir}/*`;

  const runJava = (mainClass: string, args: string[]) =>
    runCommand(java, [`-Dlog4j2.configurationFile=${path.join(INFRA_DIR, 'log4j2.properties')}`, '-cp', classpath, mainClass, ...args]);

  return {
    name: 'kafka',
    address: brokers.join(','),
    readyTimeoutMs: 90_000,

    async install(log) {
      if (fs.existsSync(path.join(libsDir, `kafka_2.13-${KAFKA_VERSION}.jar`))) return;
      log(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libsDir}`);
      await runCommand('mvn', [
        '-q', '-B', '-f', path.join(INFRA_DIR, 'pom.xml'),
        'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libsDir}`,
      ]);
    },

    async start() {
      fs.mkdirSync(dataDir, { recursive: true });
      // Rewritten at every start so a changed port takes effect; the data folder is kept.
      fs.writeFileSync(propertiesFile, brokerProperties({ host, port, controllerPort, dataDir, partitions }));
      if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
        await runJava('kafka.tools.StorageTool', ['format', '--standalone', '-t', newClusterId(), '-c', propertiesFile]);
      }
      startDetached(proc, java, [
        '-Xms256m', '-Xmx768m', '-XX:+UseG1GC',
        `-Dlog4j2.configurationFile=${path.join(INFRA_DIR, 'log4j2.properties')}`,
        '-cp', classpath, 'kafka.Kafka', propertiesFile,
      ]);
    },

    async probe() {
      const admin = await connectKafkaAdmin(brokers, 'stack-probe');
      try {
        await admin.describeCluster();
        return KAFKA_VERSION;
      } finally {
        await admin.disconnect();
      }
    },

    async prepare() {
      const admin = await connectKafkaAdmin(brokers, 'stack-prepare');
      try {
        await ensureTopic(admin, topic, partitions);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

function brokerProperties(options: {
  host: string;
  port: number;
  controllerPort: number;
  dataDir: string;
  partitions: number;
}): string {
  const { host, port, controllerPort, dataDir, partitions } = options;
  return `# Written by \`segment stack up\`: one node that is both broker and controller (KRaft).
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=${host}:${controllerPort}
listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}
advertised.listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}
num.partitions=${partitions}
auto.create.topics.enable=false
# A single node cannot replicate: every internal topic gets one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers of a fresh group start at once instead of waiting 3s for more members.
group.initial.rebalance.delay.ms=0
`;
}

/** A Kafka cluster id is 16 random bytes, base64url without padding (what `random-uuid` prints). */
function newClusterId(): string {
  return crypto.randomBytes(16).toString('base64url');
}
