/**
 * The CSV reader bench: the real data as CSV (../shared/data/online-retail.csv.gz) loaded, cleaned
 * and counted (customers by distinct invoices, Low/High) by this project's CSV reader and by what
 * else one would use, side by side in one run, each variant in its own child process (peak RSS
 * is its own), rounds interleaved, medians, as bench/load-workbook.bench.ts does for the xlsx:
 *
 * - csv reader: previewWorkbook on the .csv.gz, what `segment run --dry-run` runs (and the CLI, whole);
 * - csv-parse loop: csv-parse's streaming parser fed by the same gunzip, with the same decoders
 *   and rules: the parser the reader's own tokenizer was measured against;
 * - fast reader, xlsx: the same rows as online-retail.xlsx, for comparison;
 * - polars read_csv: bench/reader-python-anchors.py polars-csv, the same rules, imports excluded;
 * - gunzip floor: inflating the file plus one pass over its bytes, nothing parsed.
 *
 *   npx tsx bench/load-csv.bench.ts [--csv PATH] [--workbook PATH] [--rounds N] [--no-python]
 *
 * polars is installed into .stack/bench-venv (python3 -m venv, then pip) the first time, and the
 * bench says so; without python3 the anchor is left out. Not a test: it asserts nothing but the
 * figures each variant reports, and its timings depend on the machine.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { PurchaseCounter } from '../lib/aggregation/purchase-counter';
import { cleanTransaction } from '../lib/cleaning/clean-transaction';
import { countRow, emptyDataQualityReport } from '../lib/cleaning/data-quality-report';
import { decodeCustomerId, decodeInvoiceDate, decodeInvoiceNo, decodeNumber } from '../lib/workbook/decode-transaction-cell';
import { previewWorkbook } from '../lib/workbook/preview-workbook';

const PROJECT = resolve(__dirname, '..');
const UCI_CSV = resolve(PROJECT, '../shared/data/online-retail.csv.gz');
const UCI_WORKBOOK = resolve(PROJECT, '../shared/data/online-retail.xlsx');
const VENV_PYTHON = join(PROJECT, '.stack', 'bench-venv', 'bin', 'python');
const POLARS = 'polars==2.1.0';
/** Prints the process's peak RSS as it exits, for the variant that runs the whole CLI. */
const PRINT_PEAK_RSS = 'data:text/javascript,process.on("exit",()=>process.stderr.write("PEAK_RSS_KIB="+process.resourceUsage().maxRSS+"\\n"))';

type Variant = 'csv reader' | 'segment run --dry-run' | 'csv-parse loop' | 'fast reader, xlsx' | 'polars read_csv' | 'gunzip floor';

const DESCRIPTIONS: Record<Variant, string> = {
  'csv reader': 'this reader: previewWorkbook on the .csv.gz, load + clean + count, in-process time',
  'segment run --dry-run': 'the same through the CLI: node bin/segment.js run --dry-run --json, whole process (start-up included)',
  'csv-parse loop': 'csv-parse (streaming, array records) after the same gunzip, the same decoders and rules',
  'fast reader, xlsx': 'previewWorkbook on the same rows as online-retail.xlsx',
  'polars read_csv': 'polars.read_csv (4 columns, it inflates the .gz itself) + the same rules (bench/reader-python-anchors.py polars-csv)',
  'gunzip floor': 'inflating the .csv.gz plus one pass over its bytes, nothing parsed',
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
  if (variant === 'csv reader' || variant === 'fast reader, xlsx') {
    const preview = await previewWorkbook({ filePath, displayName: basename(filePath) });
    figures = { rows: preview.report.rowsRead, kept: preview.report.rowsKept, customers: preview.customers, low: preview.low, high: preview.high };
  } else if (variant === 'csv-parse loop') {
    figures = await csvParseLoop(filePath);
  } else if (variant === 'gunzip floor') {
    await gunzipFloor(filePath);
  } else {
    throw new Error(`${variant} does not run in Node`);
  }
  return { ...figures, wallMs: performance.now() - started, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** csv-parse as its documentation shows it streaming, the header's columns found by name. */
async function csvParseLoop(filePath: string): Promise<Figures> {
  const report = emptyDataQualityReport();
  const counter = new PurchaseCounter();
  const records = createReadStream(filePath, { highWaterMark: 256 * 1024 }).pipe(createGunzip()).pipe(parse({ bom: true, relax_column_count: true }));
  let columns: Record<string, number> | undefined;
  const text = (record: string[], name: string) => record[columns![name]]?.trim() || null;
  for await (const record of records as AsyncIterable<string[]>) {
    if (columns === undefined) {
      columns = Object.fromEntries(record.map((name, index) => [name, index]));
      continue;
    }
    const row = {
      invoiceNo: decodeInvoiceNo(text(record, 'InvoiceNo')),
      quantity: decodeNumber(text(record, 'Quantity')),
      unitPrice: decodeNumber(text(record, 'UnitPrice')),
      customerId: decodeCustomerId(text(record, 'CustomerID')),
      invoiceDate: decodeInvoiceDate(text(record, 'InvoiceDate'), false),
    };
    const result = cleanTransaction(row);
    countRow(report, result);
    if (result.kept) counter.add(result.customerId, result.invoiceNo);
  }
  const { customers, low, high } = counter.summary();
  return { rows: report.rowsRead, kept: report.rowsKept, customers, low, high };
}

async function gunzipFloor(filePath: string): Promise<void> {
  let checksum = 0;
  for await (const chunk of createReadStream(filePath, { highWaterMark: 256 * 1024 }).pipe(createGunzip({ chunkSize: 256 * 1024 })) as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; at++) checksum += chunk[at];
  }
  if (checksum === 0) throw new Error('inflated nothing');
}

// ---------------------------------------------------------------------------------------------
// Parent.

function spawnVariant(variant: Variant, files: { csv: string; workbook: string }, python: string | undefined): Promise<Measurement> {
  let command: string;
  let args: string[];
  let env = process.env;
  if (variant === 'polars read_csv') {
    command = python ?? 'python3';
    args = [join(__dirname, 'reader-python-anchors.py'), 'polars-csv', files.csv];
  } else if (variant === 'segment run --dry-run') {
    command = process.execPath;
    args = ['--import', PRINT_PEAK_RSS, join(PROJECT, 'bin', 'segment.js'), 'run', '--file', files.csv, '--dry-run', '--json'];
    env = { ...process.env, DATA_DIR: dirname(files.csv) };
  } else {
    command = process.execPath;
    // As in load-workbook.bench.ts: the sources through tsx's CommonJS hook; 'segment run --dry-run' is the built code.
    args = ['--require', 'tsx/cjs', __filename, '--child', variant, variant === 'fast reader, xlsx' ? files.workbook : files.csv];
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
        const { rowsRead: rows, rowsKept: kept, customers, low, high } = result;
        return resolvePromise({ rows, kept, customers, low, high, wallMs: processMs, processMs, peakRssMiB: peak / 1024 });
      }
      resolvePromise({ ...result, processMs });
    });
  });
}

/** A Python with polars, installing it into .stack/bench-venv if need be. */
function pythonForPolars(): string | undefined {
  const ready = (python: string) => spawnSync(python, ['-c', 'import polars'], { stdio: 'ignore' }).status === 0;
  if (existsSync(VENV_PYTHON) && ready(VENV_PYTHON)) return VENV_PYTHON;
  const how = `python3 -m venv .stack/bench-venv && .stack/bench-venv/bin/pip install ${POLARS}`;
  if (spawnSync('python3', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.log(`python3 not found: the polars anchor is left out. To add it: ${how}`);
    return undefined;
  }
  console.log(`Installing polars into .stack/bench-venv (once): ${how}`);
  try {
    execFileSync('python3', ['-m', 'venv', dirname(dirname(VENV_PYTHON))], { stdio: 'inherit' });
    execFileSync(join(dirname(VENV_PYTHON), 'pip'), ['install', '--quiet', POLARS], { stdio: 'inherit' });
  } catch (error) {
    console.log(`Could not install it (${(error as Error).message.split('\n')[0]}): the anchor is left out. By hand: ${how}`);
    return undefined;
  }
  return ready(VENV_PYTHON) ? VENV_PYTHON : undefined;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round2 = (value: number) => +value.toFixed(2);

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    csv: resolve(value('--csv') ?? UCI_CSV),
    workbook: resolve(value('--workbook') ?? UCI_WORKBOOK),
    rounds: Number(value('--rounds') ?? 3),
    python: !argv.includes('--no-python'),
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    console.log(JSON.stringify(await runVariant(process.argv[3] as Variant, process.argv[4])));
    return;
  }
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(options.csv)) throw new Error(`${options.csv} not found: pass --csv PATH`);
  const python = options.python ? pythonForPolars() : undefined;
  const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).trim();
  console.log(`\ncsv: ${options.csv} (${(statSync(options.csv).size / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`machine: ${cpu || 'unknown CPU'}, ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, Node ${process.version}; load average now ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ')}`);

  const variants: Variant[] = ['csv reader', 'segment run --dry-run', 'csv-parse loop', 'gunzip floor'];
  if (existsSync(options.workbook)) variants.splice(3, 0, 'fast reader, xlsx');
  if (python) variants.push('polars read_csv');
  for (const variant of variants) console.log(`- ${variant}: ${DESCRIPTIONS[variant]}`);

  const results = new Map<Variant, Measurement[]>(variants.map((variant) => [variant, []]));
  for (let round = 1; round <= options.rounds; round++) {
    process.stdout.write(`round ${round}/${options.rounds}:`);
    for (const variant of variants) {
      const measurement = await spawnVariant(variant, options, python);
      results.get(variant)?.push(measurement);
      process.stdout.write(` ${variant} ${(measurement.wallMs / 1000).toFixed(2)} s;`);
    }
    console.log('');
  }

  const wall = (variant: Variant) => median(results.get(variant)?.map((m) => m.wallMs) ?? []);
  const expected = results.get('csv reader')?.[0];
  const sameFigures = (m: Measurement) =>
    m.customers === undefined ? 'n/a' : m.rows === expected?.rows && m.kept === expected?.kept && m.customers === expected?.customers && m.low === expected?.low ? 'yes' : 'NO';
  console.log(`\nmedian of ${options.rounds} rounds; "x polars" = polars's wall / this row's wall (above 1: faster than polars)`);
  console.table(
    variants.map((variant) => {
      const runs = results.get(variant) ?? [];
      const row: Record<string, string | number> = {
        variant,
        'wall s': round2(wall(variant) / 1000),
        'process s': round2(median(runs.map((m) => m.processMs)) / 1000),
        'rows/s': runs[0].rows === undefined ? '' : Math.round(runs[0].rows / (wall(variant) / 1000)),
      };
      if (python) row['x polars'] = round2(wall('polars read_csv') / wall(variant));
      row['x csv-parse loop'] = round2(wall('csv-parse loop') / wall(variant));
      row['peak RSS MiB'] = Math.round(Math.max(...runs.map((m) => m.peakRssMiB)));
      row['kept / customers / low / high'] = runs[0].customers === undefined ? '' : `${runs[0].kept} / ${runs[0].customers} / ${runs[0].low} / ${runs[0].high}`;
      row['same figures'] = sameFigures(runs[0]);
      return row;
    }),
  );
  if (python) console.log(`\ncsv reader / polars read_csv: ${round2(wall('polars read_csv') / wall('csv reader'))}x (wall ${round2(wall('csv reader') / 1000)} s against ${round2(wall('polars read_csv') / 1000)} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
