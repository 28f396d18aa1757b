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
  /** Append mode: the time the run's export is for (its schedule's slot, or its start), which orders versions of an invoice. */
  sourceAt?: string;
  /** Append mode, a scheduled night with no file: that night (ISO, no zone). */
  night?: string;
}

export type PublishSegmentsResult =
  /** invoicesMerged: the ledger rows the run's merge added or changed. */
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
      if (ledger && !again && input.ledgerVersion !== ledger.version) return { outcome: 'ledger-moved', ledgerVersion: ledger.version };
      const superseded = !again && outranks(current, run);
      if (!superseded && !again && input.kind === 'audit-passed' && current.runId !== input.auditedAgainst) return { outcome: 'audit-outdated', publishedNow: current.runId };
      const invoicesMerged = ledger ? await ledger.merge({ dataDate: input.dataDate, counted: input.invoices, sourceAt: input.sourceAt, night: input.night }) : undefined;
      if (superseded) return { outcome: 'superseded', supersededBy: current.runId!, invoicesMerged };
      const rowsWritten = await replacePublishedSegments(trx, run, current, { kind: input.kind, by: input.by, reason: input.reason });
      return { outcome: 'published', rowsWritten, replaced: current.runId, invoicesMerged };
    });
    return await heartbeatWhile(publication);
  };
}

/** The ledger, locked for this transaction: its version, and this run's merge. */
async function lockLedger(trx: Knex.Transaction, runId: string) {
  const state: { version: number | string } = await trx(TABLES.ledgerState).where({ id: 1 }).forUpdate().first('version');
  const version = Number(state.version);
  return {
    version,
    /**
     * Merges the run's invoices: each replaces its row unless the ledger's came from an export for
     * a later time, so merging is safe in any order and again (a retry, a reset that loaded again).
     * Returns the invoices it changed; a merge that changes nothing (a file sent again) leaves the
     * version as it is, so no run counting meanwhile has to count again.
     */
    async merge(input: { dataDate: string | null; counted?: number; sourceAt?: string; night?: string }): Promise<number> {
      const [{ staged }] = await trx(TABLES.runInvoices).where({ run_id: runId }).count({ staged: '*' });
      if (input.counted !== undefined && Number(staged) !== input.counted) {
        throw new StagingMissingError(`run ${runId} counted ${input.counted} invoices of its own but ${staged} are staged to merge (pruned?): retry runs the load again`);
      }
      const sourceAt = input.sourceAt ? new Date(input.sourceAt) : new Date();
      const [[{ changed }]] = await trx.raw(
        `SELECT COUNT(*) AS changed FROM ?? r LEFT JOIN ?? l ON l.CustomerID = r.CustomerID AND l.InvoiceNo = r.InvoiceNo
         WHERE r.run_id = ? AND (l.CustomerID IS NULL OR (l.SourceAt <= ? AND NOT (l.InvoiceDate <=> r.InvoiceDate AND l.Amount = r.Amount)))`,
        [TABLES.runInvoices, TABLES.ledger, runId, sourceAt],
      );
      const night = dateColumnOfIso(input.night);
      const [[{ nightMoves }]] = await trx.raw('SELECT COALESCE(? > COALESCE(night_date, ?), 0) AS nightMoves FROM ?? WHERE id = 1', [night, new Date(0), TABLES.ledgerState]);
      const now = new Date();
      if (Number(changed) > 0 || Number(nightMoves) === 1) {
        // Assigned left to right: SourceAt last, so the others still compare with the row's own.
        // The ledger's columns are named with their table: the SELECT's have the same names.
        const ledger = (column: string) => `\`${TABLES.ledger}\`.${column}`;
        const newer = `VALUES(SourceAt) >= ${ledger('SourceAt')}`;
        const keep = (column: string) => `${ledger(column)} = IF(${newer}, VALUES(${column}), ${ledger(column)})`;
        await trx.raw(
          `INSERT INTO ?? (CustomerID, InvoiceNo, InvoiceDate, Amount, RunId, SourceAt, MergedAt)
           SELECT r.CustomerID, r.InvoiceNo, r.InvoiceDate, r.Amount, r.run_id, ?, ? FROM ?? r WHERE r.run_id = ?
           ON DUPLICATE KEY UPDATE ${['InvoiceDate', 'Amount', 'RunId', 'MergedAt'].map(keep).join(', ')},
             ${ledger('SourceAt')} = GREATEST(${ledger('SourceAt')}, VALUES(SourceAt))`,
          [TABLES.ledger, sourceAt, now, TABLES.runInvoices, runId],
        );
        await trx(TABLES.ledgerState)
          .where({ id: 1 })
          .update({
            version: trx.raw('version + 1'),
            // A night with no file moves the data date on; it never goes back.
            night_date: night === null ? trx.raw('night_date') : trx.raw('GREATEST(COALESCE(night_date, ?), ?)', [night, night]),
            last_run_id: runId,
            merged_at: now,
          });
      }
      await trx(TABLES.runs).where({ run_id: runId }).update({ ledger_merged_at: now });
      return Number(changed);
    },
  };
}
