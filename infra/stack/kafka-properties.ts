/**
 * server.properties of one local Kafka node. Every node is broker and controller at once (KRaft
 * "combined" mode): three JVMs make a cluster whose controller quorum, three voters, survives the
 * loss of any one node, where separate controllers would need six JVMs on a laptop-sized machine.
 *
 * Each node has three listeners on loopback (ports: lib/local-kafka-ports.ts):
 *   PLAINTEXT   clients and the other brokers
 *   CONTROLLER  the KRaft quorum
 *   SASL        clients that log in (SASL_PLAINTEXT, mechanism PLAIN, one user from the settings)
 */
import { MAX_REPLICATION_FACTOR, MIN_IN_SYNC_REPLICAS } from '../../lib/kafka';
import type { KafkaNode, StackSettings } from './stack-settings';

export function kafkaProperties(settings: StackSettings, node: KafkaNode, dataDir: string): string {
  const { host, nodes, partitions, saslUser } = settings.kafka;
  const replicas = Math.min(MAX_REPLICATION_FACTOR, nodes.length);
  const minInSync = replicas >= MAX_REPLICATION_FACTOR ? MIN_IN_SYNC_REPLICAS : 1;
  const quorum =
    nodes.length === 1
      ? // One node formatted with --standalone: the quorum is found through its controller listener.
        `controller.quorum.bootstrap.servers=${host}:${node.controllerPort}`
      : // A cluster: a fixed set of voters, known to every node from the start.
        `controller.quorum.voters=${nodes.map((voter) => `${voter.id}@${host}:${voter.controllerPort}`).join(',')}`;
  const advertised = [`PLAINTEXT://${host}:${node.clientPort}`, `SASL://${host}:${node.saslPort}`];
  if (nodes.length === 1) advertised.push(`CONTROLLER://${host}:${node.controllerPort}`);

  return `# Written by \`segment stack up\` at every start (the data folder is kept). Holds a password: mode 600.
process.roles=broker,controller
node.id=${node.id}
${quorum}
listeners=PLAINTEXT://${host}:${node.clientPort},CONTROLLER://${host}:${node.controllerPort},SASL://${host}:${node.saslPort}
advertised.listeners=${advertised.join(',')}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl.plain.sasl.jaas.config=${plainLoginModule(saslUser.username, saslUser.password.reveal())}
log.dirs=${dataDir}
num.partitions=${partitions}
auto.create.topics.enable=false
# Internal topics (consumer offsets, transactions) get as many copies as application topics:
# ${replicas} with ${nodes.length} broker(s), and from three copies on a write needs two of them.
default.replication.factor=${replicas}
min.insync.replicas=${minInSync}
offsets.topic.replication.factor=${replicas}
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${minInSync}
share.coordinator.state.topic.replication.factor=${replicas}
share.coordinator.state.topic.min.isr=${minInSync}
# Consumers of a fresh group start at once instead of waiting 3s for more members.
group.initial.rebalance.delay.ms=0
${nodes.length > 1 ? CLUSTER_FAILOVER : ''}`;
}

/**
 * On loopback a broker that stops heartbeating for 4s is dead, not slow: the controller fences it
 * and moves its partitions' leadership then, instead of after the default 9s.
 */
const CLUSTER_FAILOVER = `# A dead broker is noticed after 4s (default 9s): on loopback, silence means death.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
`;

/** The broker side of SASL/PLAIN: the one user it accepts. */
function plainLoginModule(username: string, password: string): string {
  // JAAS quotes the password and .properties reads backslashes as escapes: keep both simple.
  if (!/^[\w.@-]+$/.test(username)) throw new Error('KAFKA_SASL_USERNAME may only use letters, digits and . _ @ - for the local broker');
  if (/["\\\r\n]/.test(password)) throw new Error('KAFKA_SASL_PASSWORD may not contain quotes, backslashes or line breaks for the local broker');
  return `org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`;
}
