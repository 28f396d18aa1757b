/**
 * Where a versioned worker's deployment sends new runs. A worker with TEMPORAL_WORKER_BUILD_ID
 * gets no task of a new run until an operator makes its version current (docs/upgrading.md), and
 * until then it looks healthy: it says "worker polling", its pollers count for the
 * SegmentationTaskQueueNotPolled alert, and `segment run` starts runs that no worker ever takes.
 * So the worker reads its deployment's routing soon after it starts and then every minute, and
 * logs it whenever it changes: a warning, with the command to run, while no version is current.
 */
import type { Client } from '@temporalio/client';
import type { WorkerVersion } from '../lib/config';

/** How often the routing is read again (a `set-current-version` shows in the log within this). */
export const VERSION_ROUTING_EVERY_MS = 60_000;

export type VersionRouting =
  | { kind: 'current' }
  | { kind: 'ramping'; percent: number; current: string | null }
  | { kind: 'other-current'; current: string; ramping: string | null }
  | { kind: 'none-current' };

/** The deployment's routing as this build sees it; one not registered yet routes nothing. */
export async function versionRouting(client: Client, namespace: string, version: WorkerVersion): Promise<VersionRouting> {
  let routing;
  try {
    const { workerDeploymentInfo } = await client.workflowService.describeWorkerDeployment({ namespace, deploymentName: version.deploymentName });
    routing = workerDeploymentInfo?.routingConfig;
  } catch (error) {
    // gRPC NOT_FOUND: the server has not seen this deployment poll yet.
    if ((error as { code?: unknown }).code === 5) return { kind: 'none-current' };
    throw error;
  }
  const current = routing?.currentDeploymentVersion?.buildId || null;
  const ramping = routing?.rampingDeploymentVersion?.buildId || null;
  if (current === version.buildId) return { kind: 'current' };
  if (ramping === version.buildId) return { kind: 'ramping', percent: routing?.rampingVersionPercentage ?? 0, current };
  if (current) return { kind: 'other-current', current, ramping };
  return { kind: 'none-current' };
}

/** The log line for that routing, and whether it is a warning. */
export function versionRoutingLine(version: WorkerVersion, routing: VersionRouting): { warn: boolean; line: string } {
  const { deploymentName, buildId } = version;
  const deployment = `Worker Deployment "${deploymentName}"`;
  switch (routing.kind) {
    case 'current':
      return { warn: false, line: `${deployment}: this build (${buildId}) is current; new runs come to it` };
    case 'ramping':
      return {
        warn: false,
        line: `${deployment}: this build (${buildId}) is ramping; ${routing.percent}% of new runs come to it, the others go to ${routing.current ?? 'unversioned workers'}`,
      };
    case 'other-current':
      return {
        warn: false,
        line: `${deployment}: build ${routing.current} is current; this build (${buildId}) takes only the runs pinned to it, no new ones`,
      };
    case 'none-current':
      return {
        warn: true,
        line:
          `${deployment}: no version is current, so no worker of it gets a new run (they wait, unstarted); ` +
          `make this build current: temporal worker deployment set-current-version --deployment-name ${deploymentName} --build-id ${buildId} (docs/upgrading.md)`,
      };
  }
}
