/**
 * The contract check's rules (lib/workflow-contract.ts, workers/activity-contract-check.ts): which
 * versions a worker runs, what a call without the header counts as, and the failure a refusal is.
 * test/integration/activity-contract.test.ts sends such calls to a real worker.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { failurePolicy, NON_RETRYABLE_ERROR_TYPES } from '../../lib/errors';
import { CONTRACT_HEADER, contractProblem, OLDEST_CONTRACT_READ, UNSTAMPED_CONTRACT_VERSION, WORKFLOW_CONTRACT_VERSION } from '../../lib/workflow-contract';
import { contractRefusal, contractVersionOf } from '../../workers/activity-contract-check';

test('every version from the oldest read to this code\'s own runs; a newer one, or one that is no whole number, does not', () => {
  for (let version = OLDEST_CONTRACT_READ; version <= WORKFLOW_CONTRACT_VERSION; version += 1) expect(contractProblem(version)).toBeUndefined();
  expect(contractProblem(WORKFLOW_CONTRACT_VERSION + 1)).toContain(`newer than this worker's ${WORKFLOW_CONTRACT_VERSION}`);
  expect(contractProblem(OLDEST_CONTRACT_READ - 1)).toContain('older than the oldest this worker reads');
  expect(contractProblem(2.5)).toContain('not a whole number');
  expect(contractProblem('2')).toContain('not a whole number');
  expect(contractProblem(null)).toContain('not a whole number');
});

test('a call without the header is contract 1, which every activity reads; a header that is not JSON is reported as its text', () => {
  expect(UNSTAMPED_CONTRACT_VERSION).toBe(1);
  expect(contractVersionOf({})).toBe(UNSTAMPED_CONTRACT_VERSION);
  expect(contractRefusal('planLoad', contractVersionOf({}))).toBeUndefined();
  expect(contractVersionOf({ [CONTRACT_HEADER]: defaultPayloadConverter.toPayload(7) })).toBe(7);
  const notJson = { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode('{seven') };
  expect(contractVersionOf({ [CONTRACT_HEADER]: notJson })).toBe('{seven');
});

test('a refusal is a non-retryable UnknownContractVersionError naming the activity and both versions; an operator retry runs the step again', () => {
  const refusal = contractRefusal('publishPurchaseCounts', WORKFLOW_CONTRACT_VERSION + 1);
  expect(refusal).toMatchObject({ type: 'UnknownContractVersionError', nonRetryable: true });
  expect(refusal!.message).toContain('activity publishPurchaseCounts refused');
  expect(refusal!.message).toContain(`contract ${WORKFLOW_CONTRACT_VERSION + 1}`);
  expect(refusal!.message).toContain('Nothing was read or written');
  expect(NON_RETRYABLE_ERROR_TYPES).toContain('UnknownContractVersionError');
  const policy = failurePolicy('UnknownContractVersionError');
  expect([policy.retryable, policy.retryFrom]).toEqual([false, 'failed-step']);
});
