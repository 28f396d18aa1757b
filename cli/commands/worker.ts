/** `segment worker`: runs until SIGINT or SIGTERM, finishing the task at hand before it exits. */
import { loadConfig } from '../../lib/config';
import { createSegmentationWorker } from '../../workers/segmentation-worker';
import { loadWorkflowBundle } from '../../workers/workflow-bundle';
import { installWorkerRuntime } from '../../workers/worker-runtime';

export async function workerCommand(): Promise<number> {
  const config = loadConfig();
  // A project that was never built says so first, before the metrics port is taken.
  loadWorkflowBundle();
  // Before any connection, so the SDK's metrics and the pipeline's share the one endpoint; a
  // METRICS_ADDRESS already in use ends the worker here, naming the setting.
  installWorkerRuntime(config);
  const { run } = await createSegmentationWorker(config);
  const metrics = config.metricsAddress === null ? 'metrics off' : `metrics at http://${config.metricsAddress}/metrics`;
  const version = config.workerVersion ? `version ${config.workerVersion.deploymentName}.${config.workerVersion.buildId}` : 'unversioned';
  console.log(`worker polling task queue "${config.taskQueue}" on ${config.temporalAddress} (${version}); DATA_DIR=${config.dataDir}; ${metrics}`);
  await run();
  console.log('worker stopped');
  return 0;
}
