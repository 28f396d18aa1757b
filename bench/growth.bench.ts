/**
 * Growth (`npm run bench:growth`; `npm run bench` runs it): time and worker memory of a full run
 * at 100,000, 1,000,000 and 2,000,000 customers, on real multi-sheet workbooks the generator writes
 * (bench/growth/growth-workbooks.ts, cached in .stack/bench; minutes to write the first time).
 *
 * One warm `segment worker` (its own task queue, topic and database) and `segment run --file
 * WORKBOOK --wait --json` per size, as a user runs it (with the audit limits of GROWTH_AUDIT_ARGS
 * off, which says why); a round runs every size, smallest first.
 * Each run records its wall (spawn to exit), each step's seconds (the run's record), the worker's
 * CPU seconds during it (/proc/PID/stat: what the worker did, whatever else the cores ran) and its
 * peak RSS (the kernel's high-water mark, reset just before). Each run's result
 * must be the generator's (customers, Low, High), or the bench fails. Linear time shows as a flat
 * time per customer: the bench prints it, and each size's against the smallest's, taken within
 * the round, median of the rounds. An earlier run's history rows are deleted after the next run
 * (the published one stays), so every run writes into a history of one run.
 *
 *   npx tsx bench/growth.bench.ts [--sizes 100000,1000000,2000000] [--rounds N] [--no-warm-up] [--chart docs/growth.svg]
 *
 * The warm-up is one unmeasured run of the smallest size first.
 *
 * `--chart PATH` also writes the medians as an SVG chart (time and peak RSS against customers).
 * The servers must be up (`segment stack up`), dist/ built. Not a test: figures depend on the machine.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import mysql from 'mysql2/promise';
import { TABLES } from '../lib/tables';
import { GROWTH_AUDIT_ARGS, GROWTH_DIR, GROWTH_ENV, growthWorkbook, type GrowthWorkbook } from './growth/growth-workbooks';
import { growthChart, type GrowthPoint } from './growth/growth-chart';
import { loadAverage, median, openBenchServers, runSegment, startWorker, stopWorker, type OurRun } from './support/warm-worker';

const PROJECT = resolve(__dirname, '..');

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    sizes: (value('--sizes') ?? '100000,1000000,2000000').split(',').map(Number),
    rounds: Number(value('--rounds') ?? 3),
    chart: value('--chart'),
    warmUp: !argv.includes('--no-warm-up'),
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(join(PROJECT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const workbooks: GrowthWorkbook[] = [];
  for (const size of options.sizes) workbooks.push(await growthWorkbook(size));

  const servers = await openBenchServers('growth', GROWTH_DIR);
  const { admin, client, database } = servers;
  const env = { ...servers.env, ...GROWTH_ENV };
  const runs = new Map<number, OurRun[]>(workbooks.map(({ target }) => [target, []]));
  const loadAverages: string[] = [];
  let worker: ChildProcess | undefined;
  let previousRunId: string | undefined;
  const run = async (workbook: GrowthWorkbook) => {
    const result = await runSegment(client, admin, { database, env, workbook: workbook.path, workerPid: worker?.pid, args: GROWTH_AUDIT_ARGS });
    const { customers, low, high } = result.outcome;
    const { expected } = workbook;
    if (customers !== expected.customers || low !== expected.low || high !== expected.high) {
      throw new Error(`${workbook.path}: the run found ${JSON.stringify({ customers, low, high })}, the generator wrote ${JSON.stringify(expected)}`);
    }
    if (previousRunId) await admin.query(`DELETE FROM ${mysql.escapeId(database)}.${TABLES.segmentHistory} WHERE RunId = ?`, [previousRunId]);
    previousRunId = result.outcome.runId ?? result.outcome.workflowId;
    return result;
  };
  try {
    worker = await startWorker(env);
    console.log(`load average now ${loadAverage()}`);
    if (options.warmUp) {
      const warm = await run(workbooks[0]);
      console.log(`warm-up (not measured): ${workbooks[0].target.toLocaleString('en')} customers, ${warm.seconds.toFixed(2)} s`);
    }
    for (let round = 1; round <= options.rounds; round++) {
      loadAverages.push(loadAverage());
      for (const workbook of workbooks) {
        const result = await run(workbook);
        runs.get(workbook.target)!.push(result);
        console.log(
          `round ${round}/${options.rounds}: ${workbook.expected.customers.toLocaleString('en')} customers, ${result.seconds.toFixed(2)} s, ` +
            `worker CPU ${result.workerCpuSeconds?.toFixed(1)} s, peak RSS ${result.workerPeakRssMiB?.toFixed(0)} MiB (${result.workerStartRssMiB?.toFixed(0)} at the start), steps ${JSON.stringify(result.steps)}; load average ${loadAverage()}`,
        );
      }
    }
    loadAverages.push(loadAverage());
  } finally {
    await stopWorker(worker);
    await servers.close();
  }

  const smallest = workbooks[0];
  const perCustomer = (result: OurRun, workbook: GrowthWorkbook) => result.seconds / workbook.expected.customers;
  const rows = workbooks.map((workbook) => {
    const results = runs.get(workbook.target)!;
    const row: Record<string, string | number> = {
      customers: workbook.expected.customers.toLocaleString('en'),
      'rows (sheets)': `${workbook.expected.rowsRead.toLocaleString('en')} (${workbook.expected.sheets.length})`,
      'run s': +median(results.map((r) => r.seconds)).toFixed(2),
      'µs / customer': +(median(results.map((r) => perCustomer(r, workbook))) * 1e6).toFixed(1),
      'µs / customer vs smallest': +median(results.map((r, round) => perCustomer(r, workbook) / perCustomer(runs.get(smallest.target)![round], smallest))).toFixed(2),
    };
    for (const step of Object.keys(results[0].steps)) row[`${step} s`] = +median(results.map((r) => r.steps[step] ?? 0)).toFixed(2);
    row['worker CPU µs / customer'] = +(median(results.map((r) => (r.workerCpuSeconds ?? NaN) / workbook.expected.customers)) * 1e6).toFixed(1);
    row['worker peak RSS MiB'] = +median(results.map((r) => r.workerPeakRssMiB ?? NaN)).toFixed(0);
    row['RSS at start MiB'] = +median(results.map((r) => r.workerStartRssMiB ?? NaN)).toFixed(0);
    return row;
  });
  console.log(`\nmedians of ${options.rounds} round(s); "vs smallest" = time per customer over the smallest size's, taken within each round; load average at each round's start and the end: ${loadAverages.join('; ')}`);
  console.table(rows);

  if (options.chart) {
    const points: GrowthPoint[] = workbooks.map((workbook) => {
      const results = runs.get(workbook.target)!;
      return {
        customers: workbook.expected.customers,
        seconds: median(results.map((r) => r.seconds)),
        peakRssMiB: median(results.map((r) => r.workerPeakRssMiB ?? NaN)),
        steps: Object.fromEntries(Object.keys(results[0].steps).map((step) => [step, median(results.map((r) => r.steps[step] ?? 0))])),
      };
    });
    writeFileSync(options.chart, growthChart(points));
    console.log(`chart written to ${options.chart}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
