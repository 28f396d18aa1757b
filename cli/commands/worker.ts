/** `segment worker`: runs until SIGINT or SIGTERM, finishing the task at hand before it exits. */
import { loadConfig } from '../../lib/config';
import { createSegmentationWorker } from '../../workers/segmentation-worker';

export async function workerCommand(): Promise<number> {
  const config = loadConfig();
  const { run } = await createSegmentationWorker(config);
  const version = config.workerVersion ? `version ${config.workerVersion.deploymentName}.${config.workerVersion.buildId}` : 'unversioned';
  console.log(`worker polling task queue "${config.taskQueue}" on ${config.temporalAddress} (${version}); DATA_DIR=${config.dataDir}`);
  await run();
  console.log('worker stopped');
  return 0;
}
