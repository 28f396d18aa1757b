/**
 * Which run `customer_segments` holds, and how it changes hands. One owner for both the workflow's
 * publication step and `segment publish` (a rollback on purpose):
 * - the single `segment_publication` row is the lock: publications happen one at a time;
 * - the published run is the one with the newest data (its newest kept InvoiceDate); on a tie the
 *   later start wins, so a corrected export of the same night replaces the first one;
 * - `customer_segments` is a view of the history rows the publication row names (migration 016):
 *   a publication changes that row, in one transaction, whatever the run's size. A reader's SELECT
 *   reads the row and the history in one snapshot: the old run's rows or the new run's, never a
 *   mix. Every change is written down as a publication event.
 *
 * Why a view and not a table swap: RENAME TABLE is DDL, which commits at once, so it could not be
 * in the transaction that ranks the run, merges the ledger and checks the step's fence; and the
 * copy a swap needs first is what took seconds at a million rows.
 *
 * The history rows of the published run are what readers see, so they must not change while it is
 * published: a reset that rebuilds that run's history first sets them aside (setPublishedRowsAside).
 */
import type { Knex } from 'knex';
import { ReconciliationError } from '../errors';
import { TABLES } from '../tables';

export type PublicationKind = 'audit-passed' | 'audit-off' | 'approved' | 'operator-publish';

/** A run as publication orders it. */
export interface RankedRun {
  runId: string;
  /** Its data date (ISO, no zone: workflows/data-date.ts), or null for runs recorded before data dates. */
  dataDate: string | null;
  startedAt: Date;
  /** Absent: snapshot (runs from before append mode, and `segment publish`). */
  mode?: 'snapshot' | 'append';
}

export interface CurrentPublication {
  runId: string | null;
  /** RunId of the history rows `customer_segments` shows: `runId`, or its rows set aside (retainedHistoryKey). */
  historyKey: string | null;
  dataDate: string | null;
  startedAt: Date | null;
  mode: 'snapshot' | 'append' | null;
}

interface PublicationRow {
  run_id: string | null;
  history_key: string | null;
  data_date: Date | null;
  run_started_at: Date | null;
}

const PUBLICATION_COLUMNS = ['run_id', 'history_key', 'data_date', 'run_started_at'];

/** The publication row, and the published run's mode (read without a lock: a run's mode never changes). */
async function currentOf(db: Knex, row: PublicationRow): Promise<CurrentPublication> {
  const run: { mode: 'snapshot' | 'append' } | undefined = row.run_id === null ? undefined : await db(TABLES.runs).where({ run_id: row.run_id }).first('mode');
  return { runId: row.run_id, historyKey: row.history_key, dataDate: isoOfDateColumn(row.data_date), startedAt: row.run_started_at, mode: run?.mode ?? null };
}

/** Locks the publication row for the rest of the transaction and says which run is published. */
export async function lockPublication(trx: Knex.Transaction): Promise<CurrentPublication> {
  return await currentOf(trx, await trx(TABLES.publication).where({ id: 1 }).forUpdate().first(...PUBLICATION_COLUMNS));
}

/** The published run without a lock: what the audit compares with. */
export async function currentPublication(db: Knex): Promise<CurrentPublication> {
  return await currentOf(db, await db(TABLES.publication).where({ id: 1 }).first(...PUBLICATION_COLUMNS));
}

/**
 * True when the published run holds newer data than `candidate` (or the same data, started later).
 * An append run never outranks another: the one publishing now has counted the whole ledger (the
 * publication checks it read the latest version), the published one's invoices and any
 * correction since included, even one that moved the newest invoice back.
 */
export function outranks(current: CurrentPublication, candidate: RankedRun): boolean {
  if (current.runId === null || current.runId === candidate.runId) return false;
  if (current.mode === 'append' && candidate.mode === 'append') return false;
  const theirs = current.dataDate ?? '';
  const mine = candidate.dataDate ?? '';
  if (theirs !== mine) return theirs > mine;
  const theirStart = current.startedAt?.getTime() ?? 0;
  const myStart = candidate.startedAt.getTime();
  return theirStart > myStart || (theirStart === myStart && current.runId > candidate.runId);
}

export interface PublicationEvent {
  kind: PublicationKind;
  by?: string;
  reason?: string;
}

/** The history key of a published run's rows set aside while a reset rebuilds its own: no run's key ends so. */
export function retainedHistoryKey(runId: string): string {
  return `${runId}#published`;
}

/**
 * Inside a transaction that holds the lock: `customer_segments` becomes exactly the run's history.
 * `customers` is the count the caller established: reconcile's row-by-row check for a run's own
 * publication (the fences keep its history as checked: no earlier step's attempt writes after a
 * later one claimed), and for `segment publish` the same figure as reconcile recorded it. Not counted again here, which
 * would read every row; a run with customers but no history at all is refused (rolled back).
 */
export async function replacePublishedSegments(
  trx: Knex.Transaction,
  run: RankedRun & { customers: number },
  previous: CurrentPublication,
  event: PublicationEvent,
): Promise<number> {
  const now = new Date();
  const { runId, customers } = run;
  const any = await trx(TABLES.segmentHistory).where({ RunId: runId }).first('CustomerID');
  if (customers > 0 && !any) throw new ReconciliationError(`publishing run ${runId} would show no rows of its history for ${customers} customers`);
  // Rows set aside for readers while a reset rebuilt the run published until now: from here on no one reads them.
  if (previous.historyKey !== null && previous.historyKey !== previous.runId) await trx(TABLES.segmentHistory).where({ RunId: previous.historyKey }).delete();
  await trx(TABLES.publication)
    .where({ id: 1 })
    .update({ run_id: runId, history_key: runId, run_started_at: run.startedAt, data_date: dateColumnOfIso(run.dataDate), published_at: now });
  await trx(TABLES.runs).where({ run_id: runId }).update({ published_at: now });
  await trx(TABLES.publicationEvents).insert({
    run_id: runId,
    previous_run_id: previous.runId,
    kind: event.kind,
    decided_by: event.by ?? null,
    reason: event.reason ?? null,
    published_at: now,
  });
  return customers;
}

/**
 * Before a run's history is deleted to be written again (its publish step starting afresh after a
 * reset): if `customer_segments` shows that run's rows, they move aside under retainedHistoryKey and
 * the publication follows them, so readers keep the result that was published until a run is
 * published again. Takes the publication lock: no publication reads the rows while they move.
 * Costs a write of each row, on this rare path only.
 */
export async function setPublishedRowsAside(trx: Knex.Transaction, runId: string): Promise<void> {
  const current = await lockPublication(trx);
  if (current.historyKey !== runId) return;
  const aside = retainedHistoryKey(runId);
  await trx(TABLES.segmentHistory).where({ RunId: aside }).delete();
  await trx(TABLES.segmentHistory).where({ RunId: runId }).update({ RunId: aside });
  await trx(TABLES.publication).where({ id: 1 }).update({ history_key: aside });
}

/**
 * DATETIME columns hold the workbook's wall-clock time as written (Excel dates have no zone). mysql2
 * reads and writes DATETIME in the connection's time zone, which lib/database.ts keeps at UTC ('Z'),
 * so the ISO text maps one to one onto a Date at UTC.
 */
export function dateColumnOfIso(iso: string | null | undefined): Date | null {
  return iso ? new Date(`${iso}Z`) : null;
}

export function isoOfDateColumn(value: Date | null | undefined): string | null {
  return value ? value.toISOString().slice(0, 19) : null;
}
