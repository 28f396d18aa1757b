/**
 * The process's Temporal Runtime, installed by `segment worker` (and `segment demo`) before any
 * connection: with METRICS_ADDRESS set, the Runtime's Prometheus exporter serves /metrics there,
 * the SDK's own `temporal_…` metrics and, through its metric meter, the pipeline's
 * `segmentation_…` ones (lib/metrics/pipeline-metrics.ts): one endpoint per worker.
 *
 * Workers that tests create in their own process run on the Runtime the test set-up installed
 * (no exporter): their metric meter is a no-op one, and they do not compete for the database
 * gauges (servesMetrics() is false).
 */
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { AppConfig } from '../lib/config';
import { METRIC_NAMES, STEP_DURATION_BUCKETS } from '../lib/metrics/pipeline-metrics';
import { oneLineLogger } from './worker-log';

/** Where this process serves /metrics; undefined when it does not. */
let servedAt: string | undefined;

/** The port (or address) METRICS_ADDRESS names cannot be bound. */
export class MetricsAddressError extends Error {
  constructor(address: string, reason: string) {
    const inUse = /address already in use|os error 98/i.test(reason);
    super(
      inUse
        ? `METRICS_ADDRESS ${address} is already in use (another worker on this machine?): set METRICS_ADDRESS to a free IP:PORT, or off`
        : `cannot serve metrics at METRICS_ADDRESS ${address} (${reason.replace(/^Failed to start prometheus metrics exporter: /, '')}): set METRICS_ADDRESS to an address of this machine, or off`,
    );
    this.name = 'MetricsAddressError';
  }
}

/**
 * Installs the Runtime, serving metrics at config.metricsAddress unless it is off, logging one
 * line per event (workers/worker-log.ts) unless options name another logger. Throws
 * MetricsAddressError, before anything connects, when the address cannot be bound.
 */
export function installWorkerRuntime(config: Pick<AppConfig, 'metricsAddress'>, runtimeOptions: Omit<RuntimeOptions, 'telemetryOptions'> = {}): void {
  const bindAddress = config.metricsAddress;
  const options = { logger: oneLineLogger('INFO'), ...runtimeOptions };
  if (bindAddress === null) {
    Runtime.install(options);
    return;
  }
  try {
    Runtime.install({
      ...options,
      telemetryOptions: {
        metrics: {
          prometheus: {
            bindAddress,
            histogramBucketOverrides: { [METRIC_NAMES.stepDuration]: STEP_DURATION_BUCKETS },
          },
        },
      },
    });
  } catch (error) {
    throw new MetricsAddressError(bindAddress, error instanceof Error ? error.message : String(error));
  }
  servedAt = bindAddress;
}

/** The address this process serves /metrics at, if it does. */
export function metricsEndpoint(): string | undefined {
  return servedAt;
}
