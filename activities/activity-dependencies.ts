/** What the activities are built with: connections are made once per worker, not per call. */
import type { Knex } from 'knex';
import type { Kafka } from 'kafkajs';
import type { KafkaCompression, RunLimits, StagingRetention } from '../lib/config';
import type { PipelineMetrics } from '../lib/metrics/pipeline-metrics';
import type { NotificationDependencies } from './notify-run';
import type { ActivityTestHooks } from './step-attempt-fence';
import type { HistoryWriter } from './write-classified-customers';

export interface ActivityDependencies {
  /** The worker's MySQL user: rows only, no DDL. */
  db: Knex;
  kafka: Kafka;
  topic: string;
  topicPartitions: number;
  /** How the publish step compresses its record batches (KAFKA_COMPRESSION); its default if absent. */
  publishCompression?: KafkaCompression;
  /** Chunks the publish step keeps on their way at once; CHUNKS_IN_FLIGHT if absent (the bench compares others). */
  publishChunksInFlight?: number;
  /** How classify writes its rows (LOAD DATA LOCAL INFILE or INSERT), detected once per worker; detected at the first commit if absent. */
  historyWriter?: HistoryWriter;
  /** The only folder workbooks are read from. */
  dataDir: string;
  retention: StagingRetention;
  /** maxRows and maxDecompressedBytes over a whole run (all its workbooks and sheets); the defaults if absent. */
  runLimits?: Partial<RunLimits>;
  /** The pipeline's metrics (lib/metrics/pipeline-metrics.ts); none counted when absent (benches, tests). */
  metrics?: PipelineMetrics;
  /** The webhook runs are notified at (activities/notify-run.ts); absent: nothing is posted. */
  notifications?: NotificationDependencies;
  /** For tests only (never set by the worker's entry point): a named point an attempt passes, to hold it there. */
  testHooks?: ActivityTestHooks;
}
