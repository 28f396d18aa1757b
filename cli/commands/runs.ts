/**
 * `segment runs`: the recent runs as MySQL recorded them, newest first, one line each. Runs whose
 * workflow closed without recording it (terminated, timed out) are settled from Temporal first.
 */
import type { Knex } from 'knex';
import { loadConfig, type AppConfig } from '../../lib/config';
import { createDatabase } from '../../lib/database';
import { isoOfDateColumn } from '../../lib/publication/published-run';
import { TABLES } from '../../lib/tables';
import type { RunAudit } from '../../workflows/segmentation-progress';
import { settleClosedRuns } from '../../workers/settle-closed-runs';
import { printTable } from '../print-table';
import { connectClient } from '../temporal-client';

export interface RunListing {
  workflowId: string;
  runId: string;
  status: string;
  /** The step running now, or the one that failed. */
  step: string;
  file: string;
  /** snapshot, or append (merged into the invoice ledger), with its window (all, 90d, …). */
  mode: string;
  window: string;
  rowsRead: number | null;
  customers: number | null;
  low: number | null;
  high: number | null;
  /** The newest kept InvoiceDate: publication follows it. */
  dataDate: string | null;
  /** How its audit ended: passed, held, off; null before the audit (or for runs from before it). */
  audit: string | null;
  /** Whether customer_segments holds this run now. */
  published: boolean;
  startedAt: string;
  seconds: number | null;
}

export async function runsCommand(options: { limit: number; json?: boolean }): Promise<number> {
  const config = loadConfig();
  const db = createDatabase(config.mysql);
  try {
    await settleQuietly(db, config);
    const runs = await recentRuns(db, options.limit);
    if (options.json) {
      console.log(JSON.stringify(runs));
      return 0;
    }
    if (runs.length === 0) console.log('no runs recorded yet');
    printTable(
      runs.map((run) => ({
        workflow: run.workflowId,
        status: run.status,
        step: run.step,
        file: run.file,
        mode: run.window === 'all' ? run.mode : `${run.mode} ${run.window}`,
        rows: run.rowsRead ?? '',
        customers: run.customers ?? '',
        'low/high': run.low === null ? '' : `${run.low}/${run.high}`,
        'data date': run.dataDate?.replace('T', ' ').slice(0, 16) ?? '',
        audit: run.audit ?? '',
        published: run.published ? 'yes' : '',
        started: run.startedAt.replace('T', ' ').slice(0, 19),
        seconds: run.seconds === null ? '' : run.seconds.toFixed(1),
      })),
    );
    return 0;
  } finally {
    await db.destroy();
  }
}

/** The listing is MySQL's: if Temporal cannot be asked, it is shown as recorded, with a note. */
async function settleQuietly(db: Knex, config: AppConfig): Promise<void> {
  try {
    const { client, close } = await connectClient(config);
    try {
      await settleClosedRuns(db, client);
    } finally {
      await close();
    }
  } catch (error) {
    console.error(`could not settle closed runs from Temporal (${error instanceof Error ? error.message : String(error)}); showing them as recorded`);
  }
}

export async function recentRuns(db: Knex, limit: number): Promise<RunListing[]> {
  const rows = await db(TABLES.runs)
    .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'run_id', order: 'desc' }])
    .limit(limit)
    .select('workflow_id', 'run_id', 'status', 'current_step', 'steps', 'files', 'file', 'mode', 'window_length', 'rows_read', 'customers', 'low_frequency', 'high_frequency', 'data_date', 'audit', 'started_at', 'finished_at');
  const publication = await db(TABLES.publication).where({ id: 1 }).first('run_id');
  return rows.map((row) => {
    const audit = parseJson(row.audit) as RunAudit | null;
    const steps = parseJson(row.steps) ?? {};
    const failed = Object.entries(steps).find(([, step]) => (step as { status?: string }).status === 'failed')?.[0];
    const files = parseJson(row.files) as Array<{ file: string }> | null;
    return {
      workflowId: row.workflow_id,
      runId: row.run_id,
      status: row.status,
      step: row.current_step ?? failed ?? '',
      file: files?.map((file) => file.file).join(', ') ?? row.file,
      mode: row.mode ?? 'snapshot',
      window: row.window_length ?? 'all',
      rowsRead: row.rows_read,
      customers: row.customers,
      low: row.low_frequency,
      high: row.high_frequency,
      dataDate: isoOfDateColumn(row.data_date),
      audit: audit ? (audit.approval ? 'approved' : audit.superseded ? 'superseded' : audit.outcome) : null,
      published: publication?.run_id === row.run_id,
      startedAt: new Date(row.started_at).toISOString(),
      seconds: row.finished_at ? (new Date(row.finished_at).getTime() - new Date(row.started_at).getTime()) / 1000 : null,
    };
  });
}

/** A JSON column arrives parsed (MySQL) or as text (MariaDB, where JSON is LONGTEXT). */
export function parseJson(value: unknown): any {
  return typeof value === 'string' ? JSON.parse(value) : (value ?? null);
}
