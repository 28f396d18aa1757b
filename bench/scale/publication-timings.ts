/**
 * Publication at scale, between two runs of the same size: a real switch from one run to the
 * other (the reconcile step's publication transaction), `segment publish` back to the first (a
 * rollback), and what readers of `customer_segments` pay afterwards: a point lookup by CustomerID
 * (as outside tools do), a full scan, and the database gauges' count per category.
 */
import type { Knex } from 'knex';
import type { ReconcileInput } from '../../activities/reconcile-run';
import { publishRunOnPurpose } from '../../cli/commands/publish';
import { isoOfDateColumn, lockPublication, outranks, replacePublishedSegments } from '../../lib/publication/published-run';
import { TABLES } from '../../lib/tables';

export interface ReadTimings {
  lookupMedianMs: number;
  lookupP99Ms: number;
  lookups: number;
  /** Every row, streamed to the client. */
  fullScanSeconds: number;
  /** workers/database-gauges.ts's customers per FrequencyCategory. */
  gaugeSeconds: number;
}

export interface PublicationTimings {
  /** The publication transaction switching `customer_segments` from the other run to this one. */
  switchSeconds: number;
  /** `segment publish` of the other run (a rollback), while this one is published. */
  rollbackSeconds: number;
  /** Reading `customer_segments`, and a plain table of the same rows (what it was before migration 016). */
  view: ReadTimings;
  plain: ReadTimings;
  /** MySQL's plan for `WHERE CustomerID = ?`, one line per table. */
  lookupPlan: string[];
}

/**
 * A second completed run with the same history as `runId` (its record copied, started an hour
 * earlier so the workflow's run outranks it): the run a switch comes from and a rollback goes to.
 */
export async function copyRun(db: Knex, runId: string, copyId: string): Promise<void> {
  const [columns] = await db.raw('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position', [
    TABLES.runs,
  ]);
  const names = (columns as Array<{ name: string }>).map((column) => column.name);
  // Each column as it is, but the run's key, its status, an earlier start and no publication yet.
  const select: string[] = [];
  const bindings: string[] = [];
  for (const name of names) {
    const fixed = { status: "'completed'", started_at: 'started_at - INTERVAL 1 HOUR', published_at: 'NULL' }[name];
    if (fixed) {
      select.push(fixed);
    } else {
      select.push('?' + (name === 'run_id' || name === 'workflow_id' ? '' : '?'));
      bindings.push(name === 'run_id' || name === 'workflow_id' ? copyId : name);
    }
  }
  await db.raw(`INSERT INTO ?? (${names.map(() => '??').join(', ')}) SELECT ${select.join(', ')} FROM ?? WHERE run_id = ?`, [TABLES.runs, ...names, ...bindings, TABLES.runs, runId]);
  const [historyColumns] = await db.raw('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position', [
    TABLES.segmentHistory,
  ]);
  const copied = (historyColumns as Array<{ name: string }>).map((column) => column.name).filter((name) => name !== 'RunId');
  await db.raw(`INSERT INTO ?? (RunId, ${copied.map(() => '??').join(', ')}) SELECT ?, ${copied.map(() => '??').join(', ')} FROM ?? WHERE RunId = ?`, [
    TABLES.segmentHistory,
    ...copied,
    copyId,
    ...copied,
    TABLES.segmentHistory,
    runId,
  ]);
}

const seconds = async (work: () => Promise<unknown>): Promise<number> => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};

/**
 * `input`: the published run's reconcile input; `otherRunId` a run of the same
 * size (copyRun). Leaves `input.runId` published.
 */
export async function timePublication(
  db: Knex,
  migrator: Knex,
  input: ReconcileInput,
  otherRunId: string,
  customerIds: { first: number; count: number },
): Promise<PublicationTimings> {
  const rollbackSeconds = await seconds(async () => {
    const outcome = await publishRunOnPurpose(db, otherRunId, { by: 'scale bench', reason: 'rollback timing' });
    if (outcome.replaced !== input.runId) throw new Error(`the rollback replaced ${outcome.replaced}, not ${input.runId}`);
  });
  // The reconcile step's publication with the run's own data date (its legacy call has none, which the rolled-back run's outranks).
  const record: { data_date: Date | null } = await db(TABLES.runs).where({ run_id: input.runId }).first('data_date');
  const switchSeconds = await seconds(async () => {
    const publication = await db.transaction(async (trx) => {
      const current = await lockPublication(trx);
      const ranked = { runId: input.runId, dataDate: isoOfDateColumn(record.data_date), startedAt: new Date(input.runStartedAt), customers: input.customers };
      if (outranks(current, ranked)) return { published: false, by: current.runId };
      return { published: (await replacePublishedSegments(trx, ranked, current, { kind: 'audit-off' })) === input.customers, by: null };
    });
    if (!publication.published) throw new Error(`the timed switch was superseded by ${publication.by}`);
  });

  const view = await readTimings(db, TABLES.segments, customerIds);
  // The same reads, in the same minute, of a plain table shaped like customer_segments before 016 (key CustomerID, index on the category).
  const table = `published_table_anchor_${process.pid}`;
  await migrator.raw('CREATE TABLE ?? (PRIMARY KEY (CustomerID), KEY (FrequencyCategory), KEY (RfmSegment)) SELECT * FROM ??', [table, TABLES.segments]);
  const plain = await readTimings(db, table, customerIds).finally(() => migrator.raw('DROP TABLE IF EXISTS ??', [table]));
  // EXPLAIN of a view needs SHOW VIEW: the migrations' user's.
  const [plan] = await migrator.raw('EXPLAIN SELECT * FROM ?? WHERE CustomerID = ?', [TABLES.segments, customerIds.first]);
  const lookupPlan = (plan as Array<Record<string, string | number | null>>).map((step) => `${step.table}: ${step.type}, key ${step.key ?? '-'}, rows ${step.rows}${step.Extra ? `, ${step.Extra}` : ''}`);

  return { switchSeconds, rollbackSeconds, view, plain, lookupPlan };
}

/** Point lookups by CustomerID, a full scan and the gauges' count, on `table`. */
async function readTimings(db: Knex, table: string, customerIds: { first: number; count: number }): Promise<ReadTimings> {
  const lookups = 2_000;
  const times: number[] = [];
  for (let i = 0; i < lookups; i++) {
    const customerId = customerIds.first + Math.floor(Math.random() * customerIds.count);
    const started = performance.now();
    const [rows] = await db.raw('SELECT * FROM ?? WHERE CustomerID = ?', [table, customerId]);
    times.push(performance.now() - started);
    if ((rows as unknown[]).length !== 1) throw new Error(`customer ${customerId} is not in ${table}`);
  }
  times.sort((a, b) => a - b);
  let scanned = 0;
  const fullScanSeconds = await seconds(async () => {
    for await (const _row of db(table).select('*').stream()) scanned++;
  });
  if (scanned !== customerIds.count) throw new Error(`the full scan of ${table} read ${scanned} rows for ${customerIds.count} customers`);
  const gaugeSeconds = await seconds(() => db(table).groupBy('FrequencyCategory').select('FrequencyCategory').count({ customers: '*' }));
  return { lookupMedianMs: times[Math.floor(lookups / 2)], lookupP99Ms: times[Math.floor(lookups * 0.99)], lookups, fullScanSeconds, gaugeSeconds };
}
