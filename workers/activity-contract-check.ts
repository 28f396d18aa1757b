/**
 * Worker-side half of the contract check (lib/workflow-contract.ts): before an activity runs,
 * the contract version its workflow stamped on the call (workflows/contract-header-interceptor.ts)
 * is checked. A call from workflow code newer than this worker fails at once with
 * UnknownContractVersionError, sent as non-retryable whatever the caller's retry policy lists
 * (the caller is code this worker does not know); a call without the header is contract 1.
 */
import { defaultPayloadConverter, type ApplicationFailure, type Payload } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { UnknownContractVersionError } from '../lib/errors';
import { CONTRACT_HEADER, contractProblem, UNSTAMPED_CONTRACT_VERSION } from '../lib/workflow-contract';

/** The contract version of a call, from its headers; a header that is not JSON is reported as its raw text. */
export function contractVersionOf(headers: Readonly<Record<string, Payload>>): unknown {
  const payload = headers[CONTRACT_HEADER];
  if (payload === undefined) return UNSTAMPED_CONTRACT_VERSION;
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    return Buffer.from(payload.data ?? new Uint8Array()).toString('utf8');
  }
}

/** The error a worker answers a call of that contract version with; undefined when it runs it. */
export function contractRefusal(activityType: string, version: unknown): ApplicationFailure | undefined {
  const problem = contractProblem(version);
  if (problem === undefined) return undefined;
  const error = new UnknownContractVersionError(
    `activity ${activityType} refused: ${problem}. Nothing was read or written. Let the run's own build take it (Worker Versioning pins runs to their version: docs/upgrading.md), or retry once the workers that cannot read it are stopped`,
  );
  return error.toFailure();
}

export const activityContractCheck: ActivityInterceptorsFactory = (context) => ({
  inbound: {
    async execute(input, next) {
      const refusal = contractRefusal(context.info.activityType, contractVersionOf(input.headers));
      if (refusal) throw refusal;
      return await next(input);
    },
  },
});
