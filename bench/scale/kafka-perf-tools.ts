/**
 * Kafka's own ProducerPerformance and ConsumerPerformance (the kafka-tools jar the stack fetches
 * beside the broker's), run as the anchors of the scale bench against the same broker.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/config';

const run = promisify(execFile);
const LOG4J = `-Dlog4j2.configurationFile=${path.join(PROJECT_ROOT, 'infra', 'kafka', 'log4j2.properties')}`;

export interface PerfToolResult {
  messages: number;
  messagesPerSecond: number;
  /** The tool's own summary line. */
  line: string;
}

async function tool(libsDir: string, mainClass: string, args: string[]): Promise<string> {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const { stdout } = await run(java, ['-Xmx512m', LOG4J, '-cp', `${libsDir}/*`, mainClass, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/**
 * `messages` records of `recordBytes` each, as fast as the producer goes, with the publish
 * step's durability: acks=all and idempotence. Everything else is the Java producer's default.
 */
export async function producerPerformance(
  libsDir: string,
  options: { brokers: string[]; topic: string; messages: number; recordBytes: number },
): Promise<PerfToolResult> {
  const stdout = await tool(libsDir, 'org.apache.kafka.tools.ProducerPerformance', [
    '--topic', options.topic,
    '--num-records', String(options.messages),
    '--record-size', String(options.recordBytes),
    '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${options.brokers.join(',')}`, 'acks=all', 'enable.idempotence=true',
  ]);
  // "1000000 records sent, 548847.4 records/sec (47.11 MB/sec), ..."
  const line = stdout.trim().split('\n').reverse().find((candidate) => /records sent/.test(candidate));
  const match = line && /^(\d+) records sent, ([\d.]+) records\/sec/.exec(line);
  if (!match) throw new Error(`ProducerPerformance printed no summary:\n${stdout}`);
  return { messages: Number(match[1]), messagesPerSecond: Number(match[2]), line };
}

/**
 * What a topic takes on the brokers: the sum of its partitions' log sizes, as Kafka's
 * LogDirsCommand reports them (record batches as stored, so compressed ones count compressed).
 */
export async function topicBytesOnBroker(libsDir: string, options: { brokers: string[]; topic: string }): Promise<number> {
  const stdout = await tool(libsDir, 'org.apache.kafka.tools.LogDirsCommand', [
    '--bootstrap-server', options.brokers.join(','),
    '--describe',
    '--topic-list', options.topic,
  ]);
  // "Querying brokers ...", "Received log directory information ...", then one JSON line.
  const json = stdout.trim().split('\n').find((line) => line.startsWith('{'));
  if (!json) throw new Error(`LogDirsCommand printed no JSON:\n${stdout}`);
  const { brokers } = JSON.parse(json) as { brokers: Array<{ logDirs: Array<{ partitions: Array<{ partition: string; size: number }> }> }> };
  const prefix = `${options.topic}-`;
  let bytes = 0;
  for (const broker of brokers) {
    for (const dir of broker.logDirs) {
      for (const partition of dir.partitions) {
        if (partition.partition.startsWith(prefix) && /^\d+$/.test(partition.partition.slice(prefix.length))) bytes += partition.size;
      }
    }
  }
  return bytes;
}

/**
 * The first `messages` messages of a topic, read by one consumer of a new group, from the
 * earliest offset. Its whole time counts, group join included, as the classify step's does.
 */
export async function consumerPerformance(
  libsDir: string,
  options: { brokers: string[]; topic: string; messages: number },
): Promise<PerfToolResult> {
  const stdout = await tool(libsDir, 'org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server', options.brokers.join(','),
    '--topic', options.topic,
    '--messages', String(options.messages),
    '--group', `perf-anchor-${process.pid}-${Date.now()}`,
  ]);
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, ...
  const line = stdout.trim().split('\n').pop() ?? '';
  const fields = line.split(',').map((field) => field.trim());
  const messages = Number(fields[4]);
  const messagesPerSecond = Number(fields[5]);
  if (!Number.isFinite(messagesPerSecond) || !(messages > 0)) throw new Error(`ConsumerPerformance printed no summary:\n${stdout}`);
  return { messages, messagesPerSecond, line };
}
