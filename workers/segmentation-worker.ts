/**
 * The worker: polls the `customer-segmentation` task queue, runs the workflow from its prebuilt bundle and
 * the activities with one MySQL pool and one Kafka client for the whole process. It connects as
 * the DML-only MySQL user, so it does not migrate: it refuses to start on an outdated schema.
 */
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Knex } from 'knex';
import { createActivities, type SegmentationActivities } from '../activities';
import { runOutcomeOf } from '../activities/record-run';
import type { ActivityTestHooks } from '../activities/step-attempt-fence';
import { historyWriterFor } from '../activities/write-classified-customers';
import { loadConfig, temporalConnectionOptions, type AppConfig, type WorkerVersion } from '../lib/config';
import { assertSchemaCurrent, createDatabase } from '../lib/database';
import { kafkaClient } from '../lib/kafka';
import { pipelineMetrics, type PipelineMetrics } from '../lib/metrics/pipeline-metrics';
import type { DatabaseGauges, DatabaseGaugesOptions } from './database-gauges';
import { stepDurationInterceptor } from './step-duration-interceptor';
import { Secret } from '../lib/secret';
import { activityContractCheck } from './activity-contract-check';
import { periodically, type Periodic } from './periodically';
import { loadWorkflowBundle } from './workflow-bundle';
import { metricsEndpoint } from './worker-runtime';

export interface SegmentationWorker {
  worker: Worker;
  /** Runs until shutdown (SIGINT/SIGTERM, or worker.shutdown()), then closes the connections. */
  run: () => Promise<void>;
}

/**
 * `decorate` may wrap the activities: the fault tests use it to land a fault at an exact point
 * (e.g. Kafka deleting a range just before it is consumed); `testHooks` reach points inside them.
 */
export async function createSegmentationWorker(
  config: AppConfig = loadConfig(),
  decorate: (activities: SegmentationActivities) => SegmentationActivities = (activities) => activities,
  testHooks?: ActivityTestHooks,
): Promise<SegmentationWorker> {
  // First, before any connection: a worker without the bundle fails at once, naming `npm run build`.
  const workflowBundle = loadWorkflowBundle();
  const db = createDatabase(config.mysql);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  try {
    await assertSchemaCurrent(db);
    // Once per worker: whether classify may stream its rows with LOAD DATA LOCAL INFILE (one line logged if not).
    const historyWriter = await historyWriterFor(db, config.mysqlLocalInfile, (line) => Runtime.instance().logger.warn(line));
    const kafka = kafkaClient(config.kafkaBrokers, 'customer-segmentation-worker', config.kafkaSecurity);
    // The Runtime's meter: the Prometheus endpoint's when `segment worker` serves one, a no-op one otherwise.
    const metrics = pipelineMetrics(Runtime.instance().metricMeter);
    const worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      // Built by `npm run build`: the start does not wait for webpack.
      workflowBundle,
      ...versioningOptions(config),
      // Every attempt's duration is measured; then every activity checks that it knows the
      // contract of the workflow code that called it.
      interceptors: { activity: [stepDurationInterceptor(metrics), activityContractCheck] },
      activities: decorate(
        createActivities({
          db,
          kafka,
          topic: config.kafkaTopic,
          topicPartitions: config.kafkaTopicPartitions,
          publishCompression: config.kafkaCompression,
          historyWriter,
          dataDir: config.dataDir,
          retention: config.retention,
          runLimits: config.runLimits,
          metrics,
          notifications: {
            settings: config.notifications,
            temporalUiUrl: config.temporalUiUrl,
            temporalNamespace: config.temporalNamespace,
            secrets: secretsOf(config),
          },
          testHooks,
        }),
      ),
      // The steps are CPU- or I/O-heavy and run one after another; two slots leave room for a
      // second run without starving the first on a small machine.
      maxConcurrentActivityTaskExecutions: 2,
      // Heartbeats reach the server (and the UI, and a retry's resume point) every 2s at most,
      // instead of 80% of the heartbeat timeout: progress stays current, and a retry after a
      // crash repeats little work.
      maxHeartbeatThrottleInterval: '2s',
      // On SIGTERM the worker stops polling and gives running steps 10s to finish before it
      // cancels them; a cancelled step resumes from its last heartbeat on the next worker. 10s
      // fits inside the usual stop timeouts (Kubernetes 30s, systemd 90s) with time left to close
      // the MySQL pool and the Temporal connection.
      shutdownGraceTime: '10s',
    });
    // One Temporal client for the background work, made when first needed (loading @temporalio/client takes a quarter of a second).
    let client: Client | undefined;
    const temporalClient = () => {
      const { Client: TemporalClient } = require('@temporalio/client') as typeof import('@temporalio/client');
      return (client ??= new TemporalClient({ connection, namespace: config.temporalNamespace }));
    };
    return {
      worker,
      async run() {
        const sweeper = sweepPeriodically(db, temporalClient, metrics);
        // Only a worker that serves metrics competes to export the database gauges: an elected
        // worker without an endpoint would leave them unserved.
        const gauges = metricsEndpoint() === undefined ? undefined : exportDatabaseGaugesPeriodically({ db, mysql: config.mysql, metrics, client: temporalClient }, config.databaseGaugesEverySeconds * 1000);
        // A versioned worker whose version is not current gets no new run: it says so.
        const routing = config.workerVersion ? logVersionRoutingPeriodically(config.workerVersion, config.temporalNamespace, temporalClient) : undefined;
        try {
          await worker.run();
        } finally {
          await Promise.allSettled([sweeper.stop(), gauges?.stop(), routing?.stop()]);
          await Promise.allSettled([connection.close(), db.destroy()]);
        }
      },
    };
  } catch (error) {
    await Promise.allSettled([connection.close(), db.destroy()]);
    throw error;
  }
}

/** The worker's passwords and keys: no notification may quote one (a driver's error message might). */
function secretsOf(config: AppConfig): Secret[] {
  const passwords = [config.mysql.password, config.mysqlMigration.password].filter((password) => password !== '').map((password) => new Secret(password));
  return [...passwords, ...(config.kafkaSecurity.sasl ? [config.kafkaSecurity.sasl.password] : []), ...(config.temporalSecurity.apiKey ? [config.temporalSecurity.apiKey] : [])];
}

/**
 * With a build id (TEMPORAL_WORKER_BUILD_ID), Worker Versioning: the worker is one version of its
 * Worker Deployment, and every run it starts is PINNED to that version: its workflow tasks and its
 * activities go to this version's workers only, until it ends, whatever version is made current
 * meanwhile (a waiting run finishes on the code it started on; docs/upgrading.md). The identity
 * names the build, so the Temporal UI shows which build ran each activity. Without a build id:
 * unversioned, the SDK's defaults.
 */
function versioningOptions(config: AppConfig): Pick<WorkerOptions, 'workerDeploymentOptions' | 'identity'> {
  if (!config.workerVersion) return {};
  return {
    workerDeploymentOptions: { version: config.workerVersion, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' },
    identity: `${process.pid}@${os.hostname()} ${config.workerVersion.deploymentName}.${config.workerVersion.buildId}`,
  };
}

/** The first sweep waits this long after the start, so it (and loading @temporalio/client, a quarter of a second) never delays the worker's first tasks. */
const FIRST_SWEEP_AFTER_MS = 3_000;

/**
 * Settles runs whose workflow closed without recording it (terminated, timed out, final record
 * failed), just after start and every SETTLE_CLOSED_RUNS_EVERY_MS; every worker does it, which is
 * harmless (each settle is one conditional UPDATE). A failed sweep is logged; the next one tries again.
 */
function sweepPeriodically(db: Knex, connect: () => Client, metrics: PipelineMetrics): Periodic {
  const logger = Runtime.instance().logger;
  // Loaded at the first sweep, after polling began: the sweep needs @temporalio/client, which the start does not.
  return periodically(FIRST_SWEEP_AFTER_MS, () => {
    const { settleClosedRuns, SETTLE_CLOSED_RUNS_EVERY_MS } = require('./settle-closed-runs') as typeof import('./settle-closed-runs');
    const client = connect();
    return {
      everyMs: SETTLE_CLOSED_RUNS_EVERY_MS,
      async work() {
        try {
          for (const run of await settleClosedRuns(db, client)) {
            logger.info('settled a closed run', { ...run });
            // The run's record reached its outcome here, not by the workflow's own record.
            const outcome = runOutcomeOf({ status: run.status });
            if (outcome) metrics.runReached(outcome);
          }
        } catch (error) {
          logger.warn('could not settle closed runs; the next sweep tries again', { error: error instanceof Error ? error.message : String(error) });
        }
      },
    };
  });
}

/** The database gauges (workers/database-gauges.ts): tried for soon after the start, then every `everyMs` (METRICS_DATABASE_REFRESH_SECONDS). */
function exportDatabaseGaugesPeriodically(options: Omit<DatabaseGaugesOptions, 'logger'>, everyMs: number): Periodic {
  let gauges: DatabaseGauges | undefined;
  const periodic = periodically(FIRST_SWEEP_AFTER_MS, () => {
    const { databaseGauges } = require('./database-gauges') as typeof import('./database-gauges');
    gauges = databaseGauges({ ...options, logger: Runtime.instance().logger });
    return { everyMs, work: () => gauges!.refresh() };
  });
  return {
    async stop() {
      await periodic.stop();
      await gauges?.stop();
    },
  };
}

/** How the worker's deployment routes new runs (workers/version-routing.ts): logged soon after the start and at every change. */
function logVersionRoutingPeriodically(version: WorkerVersion, namespace: string, connect: () => Client): Periodic {
  const logger = Runtime.instance().logger;
  let last: string | undefined;
  return periodically(FIRST_SWEEP_AFTER_MS, () => {
    const { versionRouting, versionRoutingLine, VERSION_ROUTING_EVERY_MS } = require('./version-routing') as typeof import('./version-routing');
    const client = connect();
    return {
      everyMs: VERSION_ROUTING_EVERY_MS,
      async work() {
        try {
          const { warn, line } = versionRoutingLine(version, await versionRouting(client, namespace, version));
          if (line !== last && warn) logger.warn(line);
          else if (line !== last) logger.info(line);
          last = line;
        } catch (error) {
          const line = `could not read how Worker Deployment "${version.deploymentName}" routes new runs; trying again in a minute`;
          if (line !== last) logger.warn(line, { error: error instanceof Error ? error.message : String(error) });
          last = line;
        }
      },
    };
  });
}
