/**
 * Which run `customer_segments` holds, and how it changes hands. One owner for both the workflow's
 * publication step and `segment publish` (a rollback on purpose):
 * - the single `segment_publication` row is the lock: publications happen one at a time;
 * - the published run is the one with the newest data (its newest kept InvoiceDate); on a tie the
 *   later start wins, so a corrected export of the same night replaces the first one;
 * - the table is replaced in one transaction: readers see the old run's rows or the new run's,
 *   never a mix, and every change is written down as a publication event.
 *
 * Why a transaction and not a table swap: a RENAME TABLE swap needs CREATE and DROP, which the
 * worker's MySQL user does not have; a transaction needs only the rows.
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
  dataDate: string | null;
  startedAt: Date | null;
  mode: 'snapshot' | 'append' | null;
}

interface PublicationRow {
  run_id: string | null;
  data_date: Date | null;
  run_started_at: Date | null;
}

/** The publication row, and the published run's mode (read without a lock: a run's mode never changes). */
async function currentOf(db: Knex, row: PublicationRow): Promise<CurrentPublication> {
  const run: { mode: 'snapshot' | 'append' } | undefined = row.run_id === null ? undefined : await db(TABLES.runs).where({ run_id: row.run_id }).first('mode');
  return { runId: row.run_id, dataDate: isoOfDateColumn(row.data_date), startedAt: row.run_started_at, mode: run?.mode ?? null };
}

/** Locks the publication row for the rest of the transaction and says which run is published. */
export async function lockPublication(trx: Knex.Transaction): Promise<CurrentPublication> {
  return await currentOf(trx, await trx(TABLES.publication).where({ id: 1 }).forUpdate().first('run_id', 'data_date', 'run_started_at'));
}

/** The published run without a lock: what the audit compares with. */
export async function currentPublication(db: Knex): Promise<CurrentPublication> {
  return await currentOf(db, await db(TABLES.publication).where({ id: 1 }).first('run_id', 'data_date', 'run_started_at'));
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

/** What `customer_segments` takes from the run's history row of each customer (the key first). */
const PUBLISHED_COLUMNS = ['CustomerID', 'PurchaseCount', 'FrequencyCategory', 'RecencyDays', 'Monetary', 'RecencyScore', 'FrequencyScore', 'MonetaryScore', 'RfmSegment'];

/**
 * Inside a transaction that holds the lock: `customer_segments` becomes exactly the run's history
 * (customers absent from it are removed). Throws, rolling everything back, if the table would not
 * hold exactly `customers` rows of this run.
 */
export async function replacePublishedSegments(
  trx: Knex.Transaction,
  run: RankedRun & { customers: number },
  previous: CurrentPublication,
  event: PublicationEvent,
): Promise<number> {
  const now = new Date();
  const { runId, customers } = run;
  await trx.raw(`DELETE s FROM ?? s LEFT JOIN ?? h ON h.RunId = ? AND h.CustomerID = s.CustomerID WHERE h.CustomerID IS NULL`, [
    TABLES.segments,
    TABLES.segmentHistory,
    runId,
  ]);
  await trx.raw(
    `INSERT INTO ?? (${PUBLISHED_COLUMNS.join(', ')}, RunId, UpdatedAt)
     SELECT ${PUBLISHED_COLUMNS.join(', ')}, RunId, ? FROM ?? WHERE RunId = ?
     ON DUPLICATE KEY UPDATE ${PUBLISHED_COLUMNS.slice(1)
       .map((column) => `${column} = VALUES(${column})`)
       .join(', ')}, RunId = VALUES(RunId), UpdatedAt = VALUES(UpdatedAt)`,
    [TABLES.segments, now, TABLES.segmentHistory, runId],
  );
  const [table] = await trx(TABLES.segments).select(trx.raw('COUNT(*) AS total'), trx.raw('COALESCE(SUM(RunId = ?), 0) AS mine', [runId]));
  if (Number(table.total) !== customers || Number(table.mine) !== customers) {
    throw new ReconciliationError(`publishing run ${runId} would leave ${table.total} rows (${table.mine} of them its own) for ${customers} customers`);
  }
  await trx(TABLES.publication)
    .where({ id: 1 })
    .update({ run_id: runId, run_started_at: run.startedAt, data_date: dateColumnOfIso(run.dataDate), published_at: now });
  await trx(TABLES.runs).where({ run_id: runId }).update({ published_at: now });
  await trx(TABLES.publicationEvents).insert({
    run_id: runId,
    previous_run_id: previous.runId,
    kind: event.kind,
    decided_by: event.by ?? null,
    reason: event.reason ?? null,
    published_at: now,
  });
  return Number(table.mine);
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
