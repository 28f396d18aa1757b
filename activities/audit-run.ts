/**
 * Step 6, audit: the run's result next to the published one, before it may replace it. Reads
 * only; the figures go back to the workflow, which records them with the run and holds the run
 * for an operator if a check fails (lib/audit/audit-checks.ts says what each check means).
 */
import type { Knex } from 'knex';
import { evaluateAudit, type AuditLimits, type AuditReport, type PublishedFigures, type RunFigures } from '../lib/audit/audit-checks';
import { currentPublication, outranks } from '../lib/publication/published-run';
import { TABLES } from '../lib/tables';
import type { RunMode } from '../workflows/segmentation-input';
import type { ActivityDependencies } from './activity-dependencies';
import { heartbeatWhile } from './heartbeat-while';

export interface AuditInput extends RunFigures {
  runId: string;
  runStartedAt: string;
  /** Absent in runs from before append mode: snapshot. Ranks the run as the publication will. */
  mode?: RunMode;
  /** null: `--no-audit`, every check off. */
  limits: AuditLimits | null;
}

export interface AuditResult extends AuditReport {
  /** A run with newer data is published: this one will be superseded, so nothing was compared. */
  superseded: boolean;
}

const HIGH = 'High Frequency';

export function createAuditRun({ db }: ActivityDependencies) {
  return async function auditRun(input: AuditInput): Promise<AuditResult> {
    return await heartbeatWhile(audit(db, input));
  };
}

async function audit(db: Knex, input: AuditInput): Promise<AuditResult> {
  const current = await currentPublication(db);
  // Superseded runs are never published: comparing them would only hold them for nothing. A run
  // with no data date (no kept row: an empty or blank export) is not older, it is suspect: audited.
  if (input.dataDate !== null && outranks(current, { runId: input.runId, dataDate: input.dataDate, startedAt: new Date(input.runStartedAt), mode: input.mode })) {
    return { outcome: 'passed', comparedWith: current.runId, checks: [], superseded: true };
  }
  const figures = current.runId === null || current.runId === input.runId ? null : await publishedFigures(db, current.runId, input.runId);
  // A published run with no customers (an approved empty night, or one whose history a reset is
  // rewriting) gives nothing to compare with: comparing with it would hold every run.
  const published = figures && figures.customers > 0 ? figures : null;
  return { ...evaluateAudit(input.limits, input, published), superseded: false };
}

/** The published run's customers and High Frequency count (from its history: what the table holds), and how many move. */
async function publishedFigures(db: Knex, publishedRunId: string, runId: string): Promise<PublishedFigures> {
  const [totals] = await db(TABLES.segmentHistory)
    .where({ RunId: publishedRunId })
    .select(db.raw('COUNT(*) AS customers'), db.raw('COALESCE(SUM(FrequencyCategory = ?), 0) AS high', [HIGH]));
  const [{ moved }] = await db(`${TABLES.segmentHistory} as p`)
    .join(`${TABLES.segmentHistory} as r`, function sameCustomer() {
      this.on('r.CustomerID', '=', 'p.CustomerID').andOn('r.RunId', '=', db.raw('?', [runId]));
    })
    .where('p.RunId', publishedRunId)
    .andWhereRaw('?? <> ??', ['r.FrequencyCategory', 'p.FrequencyCategory'])
    .count({ moved: '*' });
  const record: { rows_read: number | null; rows_kept: number | null } | undefined = await db(TABLES.runs)
    .where({ run_id: publishedRunId })
    .first('rows_read', 'rows_kept');
  return {
    runId: publishedRunId,
    customers: Number(totals.customers),
    high: Number(totals.high),
    moved: Number(moved),
    rowsRead: Number(record?.rows_read ?? 0),
    rowsKept: Number(record?.rows_kept ?? 0),
  };
}
