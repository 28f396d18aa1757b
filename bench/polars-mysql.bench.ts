/**
 * The full pipeline against what a data engineer writes today without Kafka (`npm run
 * bench:polars`; `npm run bench` runs it): bench/polars-mysql.py, polars reading the workbook
 * (calamine), the same cleaning rules and counts in polars, the table written to MySQL with
 * LOAD DATA LOCAL INFILE from polars' CSV, on the same workbook and the same MySQL server as
 *
 * - ours: `segment run --file WORKBOOK --wait --json` (a whole CLI process) against a warm
 *   `segment worker` the bench spawns, with its own task queue, topic and database.
 *
 * At two sizes: the real workbook, and a generated one of a million customers (five sheets,
 * bench/growth/growth-workbooks.ts, cached in .stack/bench). Each round runs both, one after the
 * other, and takes the ratio ours / polars within the round; the bench prints the median of the
 * rounds' ratios (target at a million customers: <= 2). After every run the two tables must be
 * equal customer by customer (CustomerID, PurchaseCount, FrequencyCategory), and a generated
 * workbook's the generator's figures, or the bench fails. One unmeasured warm-up of each side comes
 * first (`--no-warm-up` leaves it out). After the rounds the polars side runs once more, writing the
 * same frame both with LOAD DATA and through polars' write_database (SQLAlchemy + pymysql), the
 * other maintained write path, and the bench prints both write times (`--no-write-compare`: not).
 *
 *   npx tsx bench/polars-mysql.bench.ts [--sizes real,1000000] [--rounds N] [--no-warm-up] [--no-write-compare]
 *
 * The servers must be up (`segment stack up`), dist/ built (`npm run build`). polars, fastexcel,
 * pymysql, SQLAlchemy, pandas and pyarrow go into .stack/bench-venv-polars-mysql the first time
 * (PyPI; MySQL has no ADBC driver there). Not a test: its figures depend on the machine.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GROWTH_AUDIT_ARGS, GROWTH_ENV, growthWorkbook } from './growth/growth-workbooks';
import { benchVenv, loadAverage, runJsonScript, median, openBenchServers, runSegment, segmentRows, startWorker, stopWorker, tableDifferences, type OurRun, type ScriptResult } from './support/warm-worker';

const PROJECT = resolve(__dirname, '..');
const UCI_WORKBOOK = resolve(PROJECT, '../shared/data/online-retail.xlsx');
const PYTHON_PACKAGES = ['polars==2.1.0', 'fastexcel==0.21.0', 'pymysql==1.2.4', 'sqlalchemy==2.1.9', 'pandas==3.1.1', 'pyarrow==26.0.1'];
/** The write path the anchor is timed with; bench/polars-mysql.py writes its table as customer_segments_load_data. */
const ANCHOR_WRITE = 'load-data';

/** Its phases: imports, read, count, write (PATH) for each write path. */
type PolarsResult = ScriptResult;

interface Round {
  ours: OurRun;
  polars: PolarsResult;
}

interface Size {
  label: string;
  workbook: string;
  expected?: { customers: number; low: number; high: number };
  rounds: Round[];
  writeCompare?: Record<string, number>;
  loadAverages: string[];
}

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    sizes: (value('--sizes') ?? 'real,1000000').split(','),
    rounds: Number(value('--rounds') ?? 3),
    writeCompare: !argv.includes('--no-write-compare'),
    warmUp: !argv.includes('--no-warm-up'),
  };
}

function runPolars(python: string, workbook: string, mysqlUrl: string, write: string): Promise<PolarsResult> {
  return runJsonScript<Omit<PolarsResult, 'processSeconds'>>(python, [join(__dirname, 'polars-mysql.py'), workbook, '--write', write], { POLARS_MYSQL_URL: mysqlUrl });
}

async function measureSize(size: Size, python: string, options: { rounds: number; writeCompare: boolean; warmUp: boolean }): Promise<void> {
  const { rounds, writeCompare, warmUp } = options;
  const servers = await openBenchServers('polars', dirname(size.workbook), ['polars']);
  const { admin, client, database } = servers;
  const env = size.expected ? { ...servers.env, ...GROWTH_ENV } : servers.env;
  const polarsDatabase = servers.extraDatabases.polars;
  const polarsUrl = servers.mysqlUrlOf(polarsDatabase);
  let worker: ChildProcess | undefined;
  const checkEqual = async (label: string, ours: OurRun) => {
    const differences = tableDifferences(await segmentRows(admin, database), await segmentRows(admin, polarsDatabase, `customer_segments_${ANCHOR_WRITE.replace('-', '_')}`), 'polars');
    if (differences.length > 0) throw new Error(`${size.label}, ${label}: the two tables differ: ${differences.slice(0, 5).join('; ')}`);
    const { expected } = size;
    const { customers, low, high } = ours.outcome;
    if (expected && (customers !== expected.customers || low !== expected.low || high !== expected.high)) {
      throw new Error(`${size.label}, ${label}: ${JSON.stringify({ customers, low, high })}, the generator wrote ${JSON.stringify(expected)}`);
    }
  };
  const runOurs = async () => runSegment(client, admin, { database, env, workbook: size.workbook, workerPid: worker?.pid, args: size.expected ? GROWTH_AUDIT_ARGS : [] });
  try {
    worker = await startWorker(env);
    size.loadAverages.push(loadAverage());
    console.log(`\n${size.label}: ${size.workbook}; load average now ${loadAverage()}`);
    if (warmUp) {
      process.stdout.write('warm-up (not measured): ours ');
      const warmOurs = await runOurs();
      process.stdout.write(`${warmOurs.seconds.toFixed(2)} s, polars `);
      const warmPolars = await runPolars(python, size.workbook, polarsUrl, ANCHOR_WRITE);
      console.log(`${warmPolars.processSeconds.toFixed(2)} s`);
      await checkEqual('warm-up', warmOurs);
    }
    for (let round = 1; round <= rounds; round++) {
      const ours = await runOurs();
      const polars = await runPolars(python, size.workbook, polarsUrl, ANCHOR_WRITE);
      await checkEqual(`round ${round}`, ours);
      size.rounds.push({ ours, polars });
      console.log(
        `round ${round}/${rounds}: ours ${ours.seconds.toFixed(2)} s, polars ${polars.processSeconds.toFixed(2)} s, ours/polars ${(ours.seconds / polars.processSeconds).toFixed(2)}; ` +
          `tables equal (${ours.outcome.customers} customers, ${ours.outcome.low} low, ${ours.outcome.high} high); load average ${loadAverage()}`,
      );
    }
    size.loadAverages.push(loadAverage());
    if (writeCompare) {
      const both = await runPolars(python, size.workbook, polarsUrl, `${ANCHOR_WRITE},write-database`);
      size.writeCompare = Object.fromEntries(Object.entries(both.phases).filter(([phase]) => phase.startsWith('write')));
      const differences = tableDifferences(
        await segmentRows(admin, polarsDatabase, 'customer_segments_load_data'),
        await segmentRows(admin, polarsDatabase, 'customer_segments_write_database'),
        'write_database',
      );
      if (differences.length > 0) throw new Error(`${size.label}: the two write paths wrote different tables: ${differences.slice(0, 5).join('; ')}`);
      console.log(`write paths, same frame (${both.customers} rows), s: ${JSON.stringify(size.writeCompare)}`);
    }
  } finally {
    await stopWorker(worker);
    await servers.close();
  }
}

function printResults(sizes: Size[]): void {
  console.log("\nours / polars = that round's `segment run --wait --json` wall / the polars script's wall (both whole processes), taken within each round; median of the rounds");
  console.table(
    sizes.map(({ label, rounds, loadAverages }) => ({
      workbook: label,
      customers: rounds[0]?.ours.outcome.customers,
      rounds: rounds.length,
      'ours s': +median(rounds.map((r) => r.ours.seconds)).toFixed(2),
      'polars s': +median(rounds.map((r) => r.polars.processSeconds)).toFixed(2),
      'ours / polars': +median(rounds.map((r) => r.ours.seconds / r.polars.processSeconds)).toFixed(2),
      'per round': rounds.map((r) => (r.ours.seconds / r.polars.processSeconds).toFixed(2)).join(' '),
      target: label === 'real workbook' ? '(reported)' : '<= 2',
      'load average (start; end)': loadAverages.join('; '),
    })),
  );
  for (const { label, rounds, writeCompare } of sizes) {
    if (rounds.length === 0) continue;
    console.log(`\n${label}: median seconds per phase, polars (inside its process; the rest is the interpreter's start) and ours (each step as the run recorded it)`);
    const phases = Object.keys(rounds[0].polars.phases);
    console.table(Object.fromEntries(phases.map((phase) => [`polars ${phase}`, +median(rounds.map((r) => r.polars.phases[phase])).toFixed(2)])));
    const steps = Object.keys(rounds[0].ours.steps);
    console.table(Object.fromEntries(steps.map((step) => [`ours ${step}`, +median(rounds.map((r) => r.ours.steps[step] ?? 0)).toFixed(2)])));
    if (writeCompare) console.log(`write paths for the same frame (one more polars run after the rounds), s: ${Object.entries(writeCompare).map(([path, seconds]) => `${path} ${seconds.toFixed(2)}`).join(', ')}`);
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(join(PROJECT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const python = benchVenv('bench-venv-polars-mysql', PYTHON_PACKAGES, ['polars', 'fastexcel', 'pymysql', 'sqlalchemy', 'pandas', 'pyarrow']);
  const sizes: Size[] = [];
  for (const size of options.sizes) {
    if (size === 'real') {
      if (!existsSync(UCI_WORKBOOK)) throw new Error(`${UCI_WORKBOOK} not found (leave 'real' out of --sizes)`);
      sizes.push({ label: 'real workbook', workbook: UCI_WORKBOOK, rounds: [], loadAverages: [] });
    } else {
      const generated = await growthWorkbook(Number(size));
      sizes.push({ label: `${Number(size).toLocaleString('en')} customers`, workbook: generated.path, expected: generated.expected, rounds: [], loadAverages: [] });
    }
  }
  for (const size of sizes) await measureSize(size, python, options);
  printResults(sizes);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
