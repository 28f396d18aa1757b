/**
 * The contract between the workflow and the activities: which shapes of activity input the
 * workflow code sends, and so which an activity must read. A number, carried by every activity
 * call in the header CONTRACT_HEADER: stamped by the workflow (workflows/contract-header-interceptor.ts),
 * checked by the worker before any activity runs (workers/activity-contract-check.ts).
 *
 * Why: in a mixed fleet (an upgrade without Worker Versioning, or a build id reused for other
 * code) a worker can receive an activity from workflow code it does not know, and read an input
 * it does not understand as one it does; the publish step before the fan-out read every
 * customer where the workflow meant one slice, and the run's counts no longer added up. A worker
 * refuses such a call instead (UnknownContractVersionError): a step that waits for an operator,
 * never a wrong count.
 *
 * Raise WORKFLOW_CONTRACT_VERSION when an activity's input gains a field that an older activity
 * would ignore or misread (a new meaning, not just a new optional figure), and keep reading the
 * old shapes: the workflow still sends them on the paths its patches keep (workflows/patches.ts).
 * Raise OLDEST_CONTRACT_READ only when an activity stops reading an old shape.
 */

/** The activity call's header that carries its workflow's contract version (a JSON number). */
export const CONTRACT_HEADER = 'segmentation-contract-version';

/** The contract this code's workflow sends and its activities read. */
export const WORKFLOW_CONTRACT_VERSION = 2;

/**
 * A call without the header comes from workflow code older than the header: contract 1. Its inputs are exactly the ones this code's workflow still sends
 * when it replays histories of that time (every old shape is kept behind a patch: a missing
 * `slice` is the whole publication, a missing `checkOnly` the reconcile that publishes), so every
 * activity reads them.
 */
export const UNSTAMPED_CONTRACT_VERSION = 1;

/** The oldest contract the activities still read. */
export const OLDEST_CONTRACT_READ = 1;

/** Why this worker cannot run a call of that contract version; undefined when it can. */
export function contractProblem(version: unknown): string | undefined {
  if (typeof version !== 'number' || !Number.isInteger(version)) return `its contract version ${JSON.stringify(version)} is not a whole number`;
  if (version > WORKFLOW_CONTRACT_VERSION) {
    return `it comes from workflow code of contract ${version}, newer than this worker's ${WORKFLOW_CONTRACT_VERSION}: this worker is older than the run's workflow code`;
  }
  if (version < OLDEST_CONTRACT_READ) {
    return `it comes from workflow code of contract ${version}, older than the oldest this worker reads (${OLDEST_CONTRACT_READ})`;
  }
  return undefined;
}
