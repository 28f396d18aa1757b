/**
 * The reader bench (`npm run bench` runs it first): the full workbook loaded, cleaned and counted
 * (customers by distinct invoices, Low/High) by this project's reader and by what else one would
 * use, side by side in one run, each variant in its own child process so that peak RSS is its
 * own, rounds interleaved so a burst of load elsewhere on the machine hits every variant alike:
 *
 * - fast reader: previewWorkbook, what `segment run --dry-run` runs (and the CLI itself, whole);
 * - reader 'exceljs': the same API with exceljs parsing the cells;
 * - exceljs loop: exceljs's streaming WorkbookReader on the file, as its README shows, plain row loop;
 * - polars read_excel(engine="calamine") and pandas + openpyxl: bench/reader-python-anchors.py;
 * - inflate floor: inflating the sheet with the reader's zlib settings and one pass over its bytes.
 *
 * Then peak RSS and wall of the fast reader at 1x, 2x and 4x the rows, on workbooks the generator
 * writes (past Excel's 1,048,576 rows they go on to more sheets), cached in .stack/bench-workbooks.
 *
 *   npx tsx bench/load-workbook.bench.ts [--workbook PATH] [--rounds N] [--no-python] [--no-scaling]
 *
 * The Python anchors need polars, fastexcel, pandas and openpyxl: the bench installs them into
 * .stack/bench-venv (python3 -m venv, then pip) the first time, and says so; without python3 it
 * prints the commands and leaves the anchors out. Not a test: it asserts nothing but the figures
 * each variant reports, and its timings depend on the machine.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import ExcelJS from 'exceljs';
import { PurchaseCounter } from '../lib/aggregation/purchase-counter';
import { cleanTransaction } from '../lib/cleaning/clean-transaction';
import { countRow, emptyDataQualityReport } from '../lib/cleaning/data-quality-report';
import { decodeCustomerId, decodeInvoiceNo, decodeNumber } from '../lib/workbook/decode-transaction-cell';
import { generateWorkbook } from '../lib/workbook/generate-workbook';
import { plainCellValue } from '../lib/workbook/plain-cell-value';
import { previewWorkbook } from '../lib/workbook/preview-workbook';
import { DEFAULT_WORKBOOK_LIMITS } from '../lib/workbook/workbook-limits';
import { readWorkbookParts } from '../lib/workbook/workbook-parts';
import { XlsxPackage } from '../lib/workbook/xlsx-package';

const PROJECT = resolve(__dirname, '..');
const UCI_WORKBOOK = resolve(PROJECT, '../shared/data/online-retail.xlsx');
const UCI_ROWS = 541_909;
const BENCH_DIR = join(PROJECT, '.stack', 'bench-workbooks');
const VENV = join(PROJECT, '.stack', 'bench-venv');
const VENV_PYTHON = join(VENV, 'bin', 'python');
const PYTHON_PACKAGES = ['polars==2.1.0', 'fastexcel==0.21.0', 'pandas==3.1.1', 'openpyxl==3.1.5'];
/** Prints the process's peak RSS as it exits, for the variant that runs the whole CLI. */
const PRINT_PEAK_RSS = 'data:text/javascript,process.on("exit",()=>process.stderr.write("PEAK_RSS_KIB="+process.resourceUsage().maxRSS+"\\n"))';

type Variant = 'fast' | 'segment run --dry-run' | 'reader exceljs' | 'exceljs loop' | 'polars+calamine' | 'pandas+openpyxl' | 'inflate floor';

const DESCRIPTIONS: Record<Variant, string> = {
  fast: 'this reader: previewWorkbook({ reader: "fast" }), load + clean + count, in-process time',
  'segment run --dry-run': 'the same through the CLI: node bin/segment.js run --dry-run --json, whole process (start-up included)',
  'reader exceljs': 'previewWorkbook({ reader: "exceljs" }): exceljs parses, fed by the same zip layer',
  'exceljs loop': "exceljs's streaming WorkbookReader on the file, plain row loop, UCI column order, same rules",
  'polars+calamine': 'polars.read_excel(engine="calamine") + the same rules (bench/reader-python-anchors.py), imports excluded',
  'pandas+openpyxl': 'pandas.read_excel(engine="openpyxl") + the same rules (the older design), imports excluded',
  'inflate floor': "inflating the sheet with the reader's zlib settings plus one pass over its bytes, nothing parsed",
};

interface Figures {
  rows: number;
  kept: number;
  customers: number;
  low: number;
  high: number;
}

interface Measurement extends Partial<Figures> {
  /** The work itself, timed inside the process (interpreter start-up and imports excluded). */
  wallMs: number;
  /** The whole process, spawn to exit, as the parent saw it. */
  processMs: number;
  peakRssMiB: number;
}

// ---------------------------------------------------------------------------------------------
// Children: each runs one variant once and prints one JSON line.

async function runVariant(variant: Variant, filePath: string): Promise<Omit<Measurement, 'processMs'>> {
  const started = performance.now();
  let figures: Partial<Figures> = {};
  if (variant === 'fast' || variant === 'reader exceljs') {
    const preview = await previewWorkbook({ filePath, displayName: basename(filePath), reader: variant === 'fast' ? 'fast' : 'exceljs' });
    figures = { rows: preview.report.rowsRead, kept: preview.report.rowsKept, customers: preview.customers, low: preview.low, high: preview.high };
  } else if (variant === 'exceljs loop') {
    figures = await exceljsLoop(filePath);
  } else if (variant === 'inflate floor') {
    await inflateFloor(filePath);
  } else {
    throw new Error(`${variant} does not run in Node`);
  }
  return { ...figures, wallMs: performance.now() - started, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** exceljs used as its README shows: a file stream into WorkbookReader, worksheets and rows iterated. */
async function exceljsLoop(filePath: string): Promise<Figures> {
  const report = emptyDataQualityReport();
  const counter = new PurchaseCounter();
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(createReadStream(filePath), {});
  for await (const worksheet of workbook) {
    for await (const row of worksheet) {
      if (row.number === 1 || !row.hasValues) continue;
      const cell = (column: number) => plainCellValue(row.findCell(column)?.value ?? null);
      const result = cleanTransaction({
        invoiceNo: decodeInvoiceNo(cell(1)),
        quantity: decodeNumber(cell(4)),
        unitPrice: decodeNumber(cell(6)),
        customerId: decodeCustomerId(cell(7)),
      });
      countRow(report, result);
      if (result.kept) counter.add(result.customerId, result.invoiceNo);
    }
  }
  const { customers, low, high } = counter.summary();
  return { rows: report.rowsRead, kept: report.rowsKept, customers, low, high };
}

async function inflateFloor(filePath: string): Promise<void> {
  const xlsx = await XlsxPackage.open(filePath, basename(filePath), DEFAULT_WORKBOOK_LIMITS);
  let checksum = 0;
  for (const sheet of (await readWorkbookParts(xlsx)).sheets) {
    if (sheet.partPath === undefined) continue;
    for await (const chunk of xlsx.inflate(sheet.partPath)) for (let at = 0; at < chunk.length; at++) checksum += chunk[at];
  }
  xlsx.close();
  if (checksum === 0) throw new Error('inflated nothing');
}

// ---------------------------------------------------------------------------------------------
// Parent.

function spawnVariant(variant: Variant, filePath: string, python: string | undefined): Promise<Measurement> {
  let command: string;
  let args: string[];
  let env = process.env;
  if (variant === 'polars+calamine' || variant === 'pandas+openpyxl') {
    command = python ?? 'python3';
    args = [join(__dirname, 'reader-python-anchors.py'), variant === 'polars+calamine' ? 'polars-calamine' : 'pandas-openpyxl', filePath];
  } else if (variant === 'segment run --dry-run') {
    command = process.execPath;
    args = ['--import', PRINT_PEAK_RSS, join(PROJECT, 'bin', 'segment.js'), 'run', '--file', filePath, '--dry-run', '--json'];
    env = { ...process.env, DATA_DIR: dirname(filePath) };
  } else {
    command = process.execPath;
    // The sources through tsx's CommonJS hook (its ESM loader would add a thread and its memory). tsx
    // turns imports into getter calls, which costs the reader's hot loops CPU that the compiled dist/
    // does not pay: 'segment run --dry-run' is the figure of the build users run.
    args = ['--require', 'tsx/cjs', __filename, '--child', variant, filePath];
  }
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const processMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`${variant} exited with ${code}: ${stderr.slice(-2000)}`));
      const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
      if (variant === 'segment run --dry-run') {
        const peak = Number(/PEAK_RSS_KIB=(\d+)/.exec(stderr)?.[1] ?? NaN);
        return resolvePromise({
          rows: result.rowsRead,
          kept: result.rowsKept,
          customers: result.customers,
          low: result.low,
          high: result.high,
          wallMs: processMs,
          processMs,
          peakRssMiB: peak / 1024,
        });
      }
      resolvePromise({ ...result, processMs });
    });
  });
}

/** A Python with the anchors' packages, installing them into .stack/bench-venv if need be. */
function pythonForAnchors(): string | undefined {
  const ready = (python: string) => spawnSync(python, ['-c', 'import polars, fastexcel, pandas, openpyxl'], { stdio: 'ignore' }).status === 0;
  if (existsSync(VENV_PYTHON) && ready(VENV_PYTHON)) return VENV_PYTHON;
  const how = `python3 -m venv .stack/bench-venv && .stack/bench-venv/bin/pip install ${PYTHON_PACKAGES.join(' ')}`;
  if (spawnSync('python3', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.log(`python3 not found: the polars and pandas anchors are left out. To add them: ${how}`);
    return undefined;
  }
  console.log(`Installing the Python anchors into .stack/bench-venv (once): ${how}`);
  try {
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(join(VENV, 'bin', 'pip'), ['install', '--quiet', ...PYTHON_PACKAGES], { stdio: 'inherit' });
  } catch (error) {
    console.log(`Could not install them (${(error as Error).message.split('\n')[0]}): the anchors are left out. By hand: ${how}`);
    return undefined;
  }
  return ready(VENV_PYTHON) ? VENV_PYTHON : undefined;
}

/** A generated workbook of `rows` rows, written once and kept in .stack/bench-workbooks. */
async function generatedWorkbook(rows: number): Promise<string> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const filePath = join(BENCH_DIR, `generated-${rows}-rows-seed-1.xlsx`);
  if (!existsSync(filePath)) {
    const started = performance.now();
    process.stdout.write(`generating ${rows.toLocaleString('en-US')} rows into ${filePath} ... `);
    const generated = await generateWorkbook({ outPath: filePath, rows, seed: 1 });
    console.log(`${((performance.now() - started) / 1000).toFixed(0)} s, ${generated.sheets.length} sheet(s)`);
  }
  return filePath;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round2 = (value: number) => +value.toFixed(2);

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    workbook: value('--workbook'),
    rounds: Number(value('--rounds') ?? 3),
    python: !argv.includes('--no-python'),
    scaling: !argv.includes('--no-scaling'),
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const measurement = await runVariant(process.argv[3] as Variant, process.argv[4]);
    console.log(JSON.stringify(measurement));
    return;
  }
  const options = parseArgs(process.argv.slice(2));
  const filePath = options.workbook ? resolve(options.workbook) : existsSync(UCI_WORKBOOK) ? UCI_WORKBOOK : await generatedWorkbook(UCI_ROWS);
  const python = options.python ? pythonForAnchors() : undefined;
  const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).trim();
  console.log(`\nworkbook: ${filePath} (${(statSync(filePath).size / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`machine: ${cpu || 'unknown CPU'}, ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, Node ${process.version}; load average now ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ')}`);

  const variants: Variant[] = ['fast', 'segment run --dry-run', 'reader exceljs', 'exceljs loop', 'inflate floor'];
  if (python) variants.push('polars+calamine', 'pandas+openpyxl');
  for (const variant of variants) console.log(`- ${variant}: ${DESCRIPTIONS[variant]}`);

  const results = new Map<Variant, Measurement[]>(variants.map((variant) => [variant, []]));
  for (let round = 1; round <= options.rounds; round++) {
    process.stdout.write(`round ${round}/${options.rounds}:`);
    for (const variant of variants) {
      const measurement = await spawnVariant(variant, filePath, python);
      results.get(variant)?.push(measurement);
      process.stdout.write(` ${variant} ${(measurement.wallMs / 1000).toFixed(2)} s;`);
    }
    console.log('');
  }

  const wall = (variant: Variant) => median(results.get(variant)?.map((m) => m.wallMs) ?? []);
  // Every ratio is taken within its round (both variants ran a moment apart, under the same load),
  // then the median of the rounds' ratios: a ratio of two medians could pair different rounds.
  const ratio = (numerator: Variant, denominator: Variant) => {
    const over = results.get(numerator) ?? [];
    const under = results.get(denominator) ?? [];
    return median(over.map((m, round) => m.wallMs / under[round].wallMs));
  };
  const expected = results.get('fast')?.[0];
  const sameFigures = (m: Measurement) =>
    m.customers === undefined ? 'n/a' : m.rows === expected?.rows && m.customers === expected?.customers && m.low === expected?.low && m.high === expected?.high ? 'yes' : 'NO';
  console.log(`\nmedian of ${options.rounds} rounds; "x faster" = that variant's wall / this row's wall, taken within each round, median of the rounds' ratios`);
  console.table(
    variants.map((variant) => {
      const runs = results.get(variant) ?? [];
      const row: Record<string, string | number> = {
        variant,
        'wall s': round2(wall(variant) / 1000),
        'process s': round2(median(runs.map((m) => m.processMs)) / 1000),
      };
      if (python) row['x faster than polars+calamine'] = round2(ratio('polars+calamine', variant));
      row['x faster than exceljs loop'] = round2(ratio('exceljs loop', variant));
      row['x the inflate floor'] = round2(ratio(variant, 'inflate floor'));
      row['peak RSS MiB'] = Math.round(Math.max(...runs.map((m) => m.peakRssMiB)));
      row['customers / low / high'] = runs[0].customers === undefined ? '' : `${runs[0].customers} / ${runs[0].low} / ${runs[0].high}`;
      row['same figures'] = sameFigures(runs[0]);
      return row;
    }),
  );

  if (!options.scaling) return;
  console.log('\nmemory as the rows grow (fast reader, generated workbooks, one child each, median of the rounds):');
  const scaling: Array<Record<string, string | number>> = [];
  for (const factor of [1, 2, 4]) {
    const rows = UCI_ROWS * factor;
    const workbook = await generatedWorkbook(rows);
    const runs: Measurement[] = [];
    for (let round = 1; round <= options.rounds; round++) runs.push(await spawnVariant('fast', workbook, python));
    scaling.push({
      rows: `${factor}x = ${rows.toLocaleString('en-US')}`,
      'file MiB': round2(statSync(workbook).size / 2 ** 20),
      'wall s': round2(median(runs.map((m) => m.wallMs)) / 1000),
      'rows/s': Math.round(rows / (median(runs.map((m) => m.wallMs)) / 1000)),
      'peak RSS MiB': Math.round(Math.max(...runs.map((m) => m.peakRssMiB))),
      'rows read': runs[0].rows ?? 0,
    });
  }
  console.table(scaling);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
