/**
 * Step 7, publication: `customer_segments` becomes exactly this run's result, in one transaction
 * (lib/publication/published-run.ts), unless a run with newer data is published: then this run is
 * superseded and the table is left alone. A run whose audit compared it with a run that is no
 * longer the published one is not published on that audit: the workflow audits it again. Fenced:
 * a stale attempt (a frozen worker waking up after a newer attempt took over) publishes nothing.
 *
 * An append run merges its invoices into the ledger here, in the same transaction, so a run that
 * is held, aborted or failed leaves the ledger as it was. Merges take the ledger's row for update:
 * one at a time. A run whose counts were made on an older ledger version than the latest neither
 * merges nor publishes on them: the workflow counts again from the aggregate step, so what it
 * publishes is always the whole ledger. A superseded append run still merges (its invoices are
 * valid data) and leaves only `customer_segments` alone.
 */
import type { Knex } from 'knex';
import { StagingMissingError } from '../lib/errors';
import { dateColumnOfIso, lockPublication, outranks, replacePublishedSegments, type PublicationKind } from '../lib/publication/published-run';
import { TABLES } from '../lib/tables';
import type { RunMode } from '../workflows/segmentation-input';
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
  /** Absent in runs from before append mode: snapshot. */
  mode?: RunMode;
  /** Append mode: the ledger version the counts were made on, and the run's own invoices then. */
  ledgerVersion?: number;
  invoices?: number;
}

export type PublishSegmentsResult =
  | { outcome: 'published'; rowsWritten: number; replaced: string | null; invoicesMerged?: number }
  | { outcome: 'superseded'; supersededBy: string; invoicesMerged?: number }
  /** Another run was published since the audit: its figures no longer say anything. */
  | { outcome: 'audit-outdated'; publishedNow: string | null }
  /** Another append run merged since this one counted: its counts miss that run's invoices. */
  | { outcome: 'ledger-moved'; ledgerVersion: number };

export function createPublishSegments(dependencies: ActivityDependencies) {
  return async function publishSegments(input: PublishSegmentsInput): Promise<PublishSegmentsResult> {
    const fence = await claimStepAttempt(dependencies, input.runId, 'publication');
    const mode = input.mode ?? 'snapshot';
    const run = { runId: input.runId, dataDate: input.dataDate, startedAt: new Date(input.runStartedAt), customers: input.customers, mode };
    const publication = fence.write(async (trx): Promise<PublishSegmentsResult> => {
      const current = await lockPublication(trx);
      // This run is published already (a retry after the commit's answer was lost, or a reset that
      // rebuilt its history from a replaced file): replaced again, so the table is its history as it is now.
      const again = current.runId === run.runId;
      const ledger = mode === 'append' ? await lockLedger(trx, input.runId) : undefined;
      // Before the ranking: counted again on the latest ledger, the run's data date may be newer
      // (the ledger's newest invoice after its merge), so a run that merged meanwhile cannot leave it out.
      if (ledger && !again && !ledger.countedOnLatest(input.ledgerVersion)) return { outcome: 'ledger-moved', ledgerVersion: ledger.version };
      const superseded = !again && outranks(current, run);
      if (!superseded && !again && input.kind === 'audit-passed' && current.runId !== input.auditedAgainst) return { outcome: 'audit-outdated', publishedNow: current.runId };
      const invoicesMerged = ledger ? await ledger.merge(input.dataDate, input.invoices) : undefined;
      if (superseded) return { outcome: 'superseded', supersededBy: current.runId!, invoicesMerged };
      const rowsWritten = await replacePublishedSegments(trx, run, current, { kind: input.kind, by: input.by, reason: input.reason });
      return { outcome: 'published', rowsWritten, replaced: current.runId, invoicesMerged };
    });
    return await heartbeatWhile(publication);
  };
}

/** The ledger, locked for this transaction: its version, and this run's merge (once per run). */
async function lockLedger(trx: Knex.Transaction, runId: string) {
  const state: { version: number | string; last_run_id: string | null } = await trx(TABLES.ledgerState).where({ id: 1 }).forUpdate().first('version', 'last_run_id');
  const record: { ledger_merged_at: Date | null } | undefined = await trx(TABLES.runs).where({ run_id: runId }).first('ledger_merged_at');
  const version = Number(state.version);
  const merged = record?.ledger_merged_at != null;
  return {
    version,
    /** Counted on the latest ledger: nothing merged since the count (or only this run's own merge, by an earlier attempt). */
    countedOnLatest: (countedOn: number | undefined) => countedOn === version || (merged && state.last_run_id === runId),
    /** Merges the run's invoices (the later run's version of an invoice wins) and moves the ledger's data date; once another run has merged after it, a no-op. */
    async merge(dataDate: string | null, counted: number | undefined): Promise<number> {
      const [{ invoices }] = await trx(TABLES.runInvoices).where({ run_id: runId }).count({ invoices: '*' });
      // Merged, and another run merged after it: merging again would undo that run's newer versions of the same invoices.
      // Merged last (a retry whose answer was lost, or a reset that loaded again): merged again, as it is now.
      if (merged && state.last_run_id !== runId) return Number(invoices);
      if (counted !== undefined && Number(invoices) !== counted) {
        throw new StagingMissingError(`run ${runId} counted ${counted} invoices of its own but ${invoices} are staged to merge (pruned?): retry runs the load again`);
      }
      const now = new Date();
      await trx.raw(
        `INSERT INTO ?? (CustomerID, InvoiceNo, InvoiceDate, Amount, RunId, MergedAt)
         SELECT CustomerID, InvoiceNo, InvoiceDate, Amount, run_id, ? FROM ?? WHERE run_id = ?
         ON DUPLICATE KEY UPDATE InvoiceDate = VALUES(InvoiceDate), Amount = VALUES(Amount), RunId = VALUES(RunId), MergedAt = VALUES(MergedAt)`,
        [TABLES.ledger, now, TABLES.runInvoices, runId],
      );
      const date = dateColumnOfIso(dataDate);
      await trx(TABLES.ledgerState)
        .where({ id: 1 })
        .update({
          version: trx.raw('version + 1'),
          // The ledger's data date never goes back: a late delta for an older day keeps the newer one.
          data_date: date === null ? trx.raw('data_date') : trx.raw('GREATEST(COALESCE(data_date, ?), ?)', [date, date]),
          last_run_id: runId,
          merged_at: now,
        });
      await trx(TABLES.runs).where({ run_id: runId }).update({ ledger_merged_at: now });
      return Number(invoices);
    },
  };
}
