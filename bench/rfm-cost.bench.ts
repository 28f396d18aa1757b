/**
 * What the RFM columns cost a full run: the real workbook through the whole pipeline on the last
 * commit without RFM and on the current checkout, side by side, rounds alternating between them
 * so a burst of load elsewhere on the (shared) machine hits both alike.
 *
 *   npm run bench:rfm -- [--rounds N] [--workbook PATH] [--baseline COMMIT] [--keep-worktree]
 *
 * - without RFM: BASELINE_COMMIT checked out into a git worktree under .stack/bench/ (gitignored),
 *   with this checkout's node_modules linked in, built there (`npm run build`). Removed at the end
 *   unless --keep-worktree (the next run then reuses it and its build is incremental): while it is
 *   there, jest warns of a second package.json named customer-segmentation in this checkout.
 * - with RFM: this checkout's own build, which must be up to date (`npm run build` first).
 * Each side has its own MySQL database (migrated by its own `segment migrate`), Kafka topic, task
 * queue and `segment worker` process (its own dist/). One warm-up run each, then N rounds of one run
 * each, the order swapped every round. A run is `{ file }`, timed from its start to its result as
 * `segment run --wait` sees it; each step's time is the run's own (its result's steps[].seconds).
 * Per round, the difference and the ratio of the two runs; the figures are medians over rounds.
 * Then it checks both sides published the same seed columns for every customer and the RFM side
 * all six RFM columns. Workers, runs still open, topics, databases and the baseline worktree are
 * removed at the end, whatever failed; the workers' logs in .stack/bench/logs are kept when
 * something failed. Not a test: the figures depend on the machine.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { loadConfig, PROJECT_ROOT, temporalConnectionOptions } from '../lib/config';
import { SEGMENTATION_STATUS } from '../lib/search-attributes';
import type { customerSegmentation } from '../workflows';
import { progressQuery, type SegmentationProgress } from '../workflows/segmentation-progress';
import { STEPS, type StepName } from '../workflows/steps';
import { defineSide, requireWorkerAlive, startSide, stopSide, type BenchSide } from './rfm-cost/bench-side';
import { git, prepareBaselineTree, requireFreshBuild } from './rfm-cost/project-trees';
import { checkPublishedResults } from './rfm-cost/result-checks';

/** "The test runner ends with the failed tests...": the last commit on main before RFM. */
const BASELINE_COMMIT = '8a6aee3';
/** Where test/support/shared-data.ts finds the real data (TEST_SHARED_DATA_DIR points elsewhere). */
const SHARED_DATA_DIR = process.env.TEST_SHARED_DATA_DIR ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'data');
const BENCH_DIR = path.join(PROJECT_ROOT, '.stack', 'bench');

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : undefined;
}

interface TimedRun {
  side: BenchSide;
  round: number;
  /** From starting the workflow to having its result. */
  wallSeconds: number;
  steps: Partial<Record<StepName, number>>;
  customers: number;
}

/** Everything the bench made, for the clean-up to undo. */
interface Made {
  sides: BenchSide[];
  workflowIds: string[];
  baselineTree?: string;
  client?: Client;
  connection?: Connection;
}

async function main(made: Made): Promise<void> {
  const rounds = Number(option('rounds') ?? 4);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number from 1');
  const workbook = path.resolve(option('workbook') ?? path.join(SHARED_DATA_DIR, 'online-retail.xlsx'));
  if (!fs.existsSync(workbook)) {
    throw new Error(`${workbook} not found: the bench runs the real Online Retail workbook (../shared/data beside the project; --workbook PATH or TEST_SHARED_DATA_DIR for another place)`);
  }
  const base = loadConfig();

  requireFreshBuild(PROJECT_ROOT);
  const current = git(PROJECT_ROOT, 'rev-parse', '--short', 'HEAD');
  const dirty = git(PROJECT_ROOT, 'status', '--porcelain', '--untracked-files=no') !== '';
  const baselineCommit = git(PROJECT_ROOT, 'rev-parse', `${option('baseline') ?? BASELINE_COMMIT}^{commit}`);
  const baselineShort = baselineCommit.slice(0, 7);
  const baselineTree = path.join(BENCH_DIR, `rfm-baseline-${baselineShort}`);
  console.log(`building ${baselineShort} in ${path.relative(PROJECT_ROOT, baselineTree)} ...`);
  made.baselineTree = baselineTree;
  prepareBaselineTree(PROJECT_ROOT, baselineCommit, baselineTree);

  const suffix = randomBytes(3).toString('hex');
  const names = (side: string) => ({
    database: `${base.mysql.database}_bench_rfm_${side}_${suffix}`,
    kafkaTopic: `purchase-frequency-bench-rfm-${side}-${suffix}`,
    taskQueue: `bench-rfm-${side}-${suffix}`,
  });
  const dataDir = path.dirname(workbook);
  const logDir = path.join(BENCH_DIR, 'logs');
  const without = defineSide(`without RFM (${baselineShort})`, baselineTree, baselineShort, names('without'), dataDir, logDir);
  const withRfm = defineSide(`with RFM (${current}${dirty ? ' + local changes' : ''})`, PROJECT_ROOT, current, names('with'), dataDir, logDir);
  made.sides.push(without, withRfm);
  for (const side of made.sides) await startSide(side, base);

  made.connection = await Connection.connect(temporalConnectionOptions(base));
  const client = (made.client = new Client({ connection: made.connection, namespace: base.temporalNamespace }));
  const loadBefore = os.loadavg();
  const file = path.basename(workbook);
  const timed: TimedRun[] = [];
  // Round 0 is the warm-up (caches, JIT, the tables' first pages), left out of the figures.
  for (let round = 0; round <= rounds; round++) {
    const order = round % 2 === 0 ? [without, withRfm] : [withRfm, without];
    for (const side of order) {
      const run = await timedRun(client, made, side, `bench-rfm-${suffix}-${side === without ? 'without' : 'with'}-${round}`, file, round);
      console.log(
        `${round === 0 ? 'warm-up' : `round ${round}`}  ${side.label.padEnd(36)} ${run.wallSeconds.toFixed(2)} s  ` +
          STEPS.map((step) => `${step} ${run.steps[step]?.toFixed(2) ?? '-'}`).join('  '),
      );
      if (round > 0) timed.push(run);
    }
  }
  const loadAfter = os.loadavg();

  const customers = timed[0].customers;
  const counted = timed.filter((run) => run.customers !== customers);
  if (counted.length) throw new Error(`runs counted different customers: ${timed.map((run) => `${run.side.label} ${run.customers}`).join(', ')}`);
  const segments = await checkPublishedResults(base.mysqlMigration, { without: without.database, with: withRfm.database }, customers);

  console.log(`\n${file}, ${customers.toLocaleString('en-US')} customers; ${rounds} rounds after one warm-up each, order swapped every round`);
  console.log(`measured at ${current}${dirty ? ' (+ local changes)' : ''} against ${baselineShort} on ${new Date().toISOString().slice(0, 10)}; ` +
    `node ${process.version}, ${os.cpus().length} cores, load average ${loadBefore[0].toFixed(1)} at the start, ${loadAfter[0].toFixed(1)} at the end\n`);
  console.log(summaryTable(timed, without, withRfm));
  console.log('\nseed columns (CustomerID, PurchaseCount, FrequencyCategory) equal on both sides for every customer; RFM columns filled for every customer\n');
  console.table(segments);
}

/** Starts one run on the side's task queue and waits for its result; a run that waits for an operator fails the bench. */
async function timedRun(client: Client, made: Made, side: BenchSide, workflowId: string, file: string, round: number): Promise<TimedRun> {
  const started = performance.now();
  const handle = await client.workflow.start<typeof customerSegmentation>('customerSegmentation', { taskQueue: side.taskQueue, workflowId, args: [{ file }] });
  made.workflowIds.push(workflowId);
  const progress = await untilResult(handle, side);
  const wallSeconds = (performance.now() - started) / 1000;
  if (progress.status !== 'completed' || !progress.summary) throw new Error(`${side.label}: run ${workflowId} ended ${progress.status}${progress.error ? `: ${progress.error}` : ''}`);
  const steps = Object.fromEntries(STEPS.flatMap((step) => (progress.steps[step]?.seconds === undefined ? [] : [[step, progress.steps[step].seconds]])));
  return { side, round, wallSeconds, steps, customers: progress.summary.customers };
}

/** The result as soon as there is one; meanwhile, every 2 s (server-side only: no query), whether the run is stuck. */
async function untilResult(handle: WorkflowHandle<typeof customerSegmentation>, side: BenchSide): Promise<SegmentationProgress> {
  const result = handle.result();
  // If the bench gives up on the run, its later rejection must not go unhandled.
  result.catch(() => undefined);
  for (;;) {
    const done = await Promise.race([result.then((progress) => ({ progress })), delay(2_000, undefined)]);
    if (done) return done.progress;
    requireWorkerAlive(side);
    const description = await handle.describe();
    if (description.typedSearchAttributes.get(SEGMENTATION_STATUS) === 'awaiting-operator') {
      const progress = await handle.query(progressQuery);
      throw new Error(`${side.label}: run ${handle.workflowId} waits for an operator at ${progress.failure?.step}: ${progress.error ?? progress.failure?.message}`);
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Markdown, as docs/performance.md shows it: medians per side, and the medians of the in-round difference and ratio. */
function summaryTable(timed: TimedRun[], without: BenchSide, withRfm: BenchSide): string {
  const rounds = [...new Set(timed.map((run) => run.round))];
  const pairs = rounds.map((round) => {
    const of = (side: BenchSide) => timed.find((run) => run.round === round && run.side === side)!;
    return { without: of(without), with: of(withRfm) };
  });
  const measures: Array<{ name: string; seconds: (run: TimedRun) => number | undefined }> = [
    { name: 'whole run, start to result', seconds: (run) => run.wallSeconds },
    ...STEPS.map((step) => ({ name: step, seconds: (run: TimedRun) => run.steps[step] })),
  ];
  const lines = [
    `| median of ${pairs.length} rounds | without RFM (${without.commit}) | with RFM (${withRfm.commit}) | with − without, same round | with / without, same round | ratio's range over rounds |`,
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const { name, seconds } of measures) {
    const both = pairs.flatMap((pair) => {
      const [a, b] = [seconds(pair.without), seconds(pair.with)];
      return a === undefined || b === undefined ? [] : [{ without: a, with: b }];
    });
    if (both.length === 0) continue;
    const difference = median(both.map((pair) => pair.with - pair.without));
    const ratios = both.map((pair) => pair.with / pair.without);
    const ratio = median(ratios);
    const ratioText = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '-');
    lines.push(
      `| ${name} | ${median(both.map((pair) => pair.without)).toFixed(2)} s | ${median(both.map((pair) => pair.with)).toFixed(2)} s | ` +
        `${difference >= 0 ? '+' : '−'}${Math.abs(difference).toFixed(2)} s | ${ratioText(ratio)} | ${ratioText(Math.min(...ratios))}–${ratioText(Math.max(...ratios))} |`,
    );
  }
  return lines.join('\n');
}

/** Undoes what the bench made, each part whatever failed before it; returns what could not be undone. */
async function cleanUp(made: Made): Promise<string[]> {
  const problems: string[] = [];
  if (made.client) {
    for (const workflowId of made.workflowIds) {
      try {
        const handle = made.client.workflow.getHandle(workflowId);
        if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('rfm bench cleaning up');
      } catch (error) {
        problems.push(`terminate ${workflowId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  await made.connection?.close().catch((error: unknown) => problems.push(`close the Temporal connection: ${String(error)}`));
  const base = loadConfig();
  for (const side of made.sides) problems.push(...(await stopSide(side, base)));
  // After the workers, which run from it.
  if (made.baselineTree && fs.existsSync(made.baselineTree)) {
    if (process.argv.includes('--keep-worktree')) console.log(`kept the baseline worktree ${path.relative(PROJECT_ROOT, made.baselineTree)} for the next run`);
    else {
      try {
        // The link first, by itself: nothing may reach through it into the shared node_modules.
        fs.rmSync(path.join(made.baselineTree, 'node_modules'), { force: true });
        git(PROJECT_ROOT, 'worktree', 'remove', '--force', made.baselineTree);
      } catch (error) {
        problems.push(`remove the worktree ${made.baselineTree}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return problems;
}

const made: Made = { sides: [], workflowIds: [] };
let cleaning: Promise<string[]> | undefined;
const cleanUpOnce = () => (cleaning ??= cleanUp(made));
let interrupted = false;

// Ctrl-C or a kill: still stop the workers and drop what was made.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    void cleanUpOnce()
      .then((problems) => problems.forEach((problem) => console.error(`clean-up: ${problem}`)))
      .finally(() => process.exit(130));
  });
}

void main(made)
  .then(
    () => 0,
    (error: unknown) => {
      // After a signal, the run the clean-up terminated fails main: not news.
      if (!interrupted) console.error(error instanceof Error ? error.message : error);
      return 1;
    },
  )
  .then(async (code) => {
    const problems = await cleanUpOnce();
    for (const problem of problems) console.error(`clean-up: ${problem}`);
    const failed = code !== 0 || problems.length > 0;
    for (const side of made.sides) {
      if (failed) console.error(`${side.label}: worker log ${path.relative(PROJECT_ROOT, side.logFile)}`);
      else fs.rmSync(side.logFile, { force: true });
    }
    process.exit(failed ? 1 : 0);
  });
