/**
 * Step 7, publication: `customer_segments` becomes exactly this run's result, in one transaction
 * (lib/publication/published-run.ts), unless a run with newer data is published: then this run is
 * superseded and the table is left alone. A run whose audit compared it with a run that is no
 * longer the published one is not published on that audit: the workflow audits it again. Fenced:
 * a stale attempt (a frozen worker waking up after a newer attempt took over) publishes nothing.
 */
import { lockPublication, outranks, replacePublishedSegments, type PublicationKind } from '../lib/publication/published-run';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';
import { claimStepAttempt } from './step-attempt-fence';

export interface PublishSegmentsInput {
  runId: string;
  runStartedAt: string;
  dataDate: string | null;
  customers: number;
  /** How the run got here: its audit passed (against `auditedAgainst`), the audit was off, or an operator approved it. */
  kind: Exclude<PublicationKind, 'operator-publish'>;
  /** The run published when the audit ran (null: none). */
  auditedAgainst: string | null;
  by?: string;
  reason?: string;
}

export type PublishSegmentsResult =
  | { outcome: 'published'; rowsWritten: number; replaced: string | null }
  | { outcome: 'superseded'; supersededBy: string }
  /** Another run was published since the audit: its figures no longer say anything. */
  | { outcome: 'audit-outdated'; publishedNow: string | null };

export function createPublishSegments(dependencies: ActivityDependencies) {
  return async function publishSegments(input: PublishSegmentsInput): Promise<PublishSegmentsResult> {
    const fence = await claimStepAttempt(dependencies, input.runId, 'publication');
    const run = { runId: input.runId, dataDate: input.dataDate, startedAt: new Date(input.runStartedAt), customers: input.customers };
    const publication = fence.write(async (trx): Promise<PublishSegmentsResult> => {
      const current = await lockPublication(trx);
      // This run is published already (a retry after the commit's answer was lost, or a reset that
      // rebuilt its history from a replaced file): replaced again, so the table is its history as it is now.
      const again = current.runId === run.runId;
      if (!again && outranks(current, run)) return { outcome: 'superseded', supersededBy: current.runId! };
      if (!again && input.kind === 'audit-passed' && current.runId !== input.auditedAgainst) return { outcome: 'audit-outdated', publishedNow: current.runId };
      const rowsWritten = await replacePublishedSegments(trx, run, current, { kind: input.kind, by: input.by, reason: input.reason });
      return { outcome: 'published', rowsWritten, replaced: current.runId };
    });
    return await heartbeatWhile(publication);
  };
}
