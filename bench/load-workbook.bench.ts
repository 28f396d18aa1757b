/**
 * Reads the real UCI workbook with the project's reader and with exceljs used as documented, and
 * prints rows/s, wall time and peak RSS side by side. Each variant runs in its own child process
 * so peak RSS belongs to that variant alone.
 *
 *   npx tsx bench/load-workbook.bench.ts [path/to/online-retail.xlsx]
 *
 * Not a test: it takes about a minute and its figures depend on the machine.
 */
import { fork } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import ExcelJS from 'exceljs';
import { decodeCustomerId, decodeInvoiceNo, decodeNumber } from '../lib/workbook/decode-transaction-cell';
import { plainCellValue } from '../lib/workbook/plain-cell-value';
import { readTransactionRows, WORKBOOK_READER_OPTIONS, type TransactionRow } from '../lib/workbook/read-transaction-rows';

const ROUNDS = 2;
const DEFAULT_WORKBOOK = resolve(__dirname, '../../shared/data/online-retail.xlsx');

const VARIANTS = {
  'readTransactionRows (chosen)': 'the project reader: chosen options, worksheets streamed last, header found by name, 4 columns decoded',
  'exceljs defaults': 'new WorkbookReader(file stream) with no options, its worksheet and row iterators, same 4 columns decoded',
  'exceljs README defaults': "as above with styles: 'cache', hyperlinks: 'cache' (what exceljs's README says the defaults are)",
} as const;
type Variant = keyof typeof VARIANTS;

interface Measurement {
  variant: Variant;
  rows: number;
  wallMs: number;
  /** When the last byte of the file had been read, as a share of the wall time: how honest byte progress is. */
  fileReadAtPercent: number;
  peakRssMiB: number;
}

/** Rows read the way exceljs's documentation shows, decoded as the project does (UCI column order assumed). */
async function* readWithExcelJsIterators(
  filePath: string,
  options: Partial<ExcelJS.stream.xlsx.WorkbookStreamReaderOptions>,
  onFileRead: () => void,
): AsyncGenerator<TransactionRow> {
  const input = createReadStream(filePath);
  input.on('end', onFileRead);
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(input, options);
  for await (const worksheet of workbook) {
    for await (const row of worksheet) {
      if (row.number === 1 || !row.hasValues) continue;
      const cell = (column: number) => plainCellValue(row.findCell(column)?.value ?? null);
      yield {
        rowNumber: row.number,
        invoiceNo: decodeInvoiceNo(cell(1)),
        quantity: decodeNumber(cell(4)),
        unitPrice: decodeNumber(cell(6)),
        customerId: decodeCustomerId(cell(7)),
      };
    }
  }
}

async function measure(variant: Variant, filePath: string): Promise<Measurement> {
  const started = performance.now();
  let fileReadAt = 0;
  let rows = 0;
  const onFileRead = (): void => {
    fileReadAt = performance.now();
  };
  if (variant === 'readTransactionRows (chosen)') {
    const batches = readTransactionRows({ filePath, displayName: 'online-retail.xlsx', onBytesRead: (bytesRead, total) => bytesRead === total && onFileRead() });
    for await (const batch of batches) rows += batch.rows.length;
  } else {
    const options = variant === 'exceljs README defaults' ? { styles: 'cache', hyperlinks: 'cache' } as const : {};
    for await (const _row of readWithExcelJsIterators(filePath, options, onFileRead)) rows += 1;
  }
  const wallMs = performance.now() - started;
  return {
    variant,
    rows,
    wallMs,
    fileReadAtPercent: (100 * (fileReadAt - started)) / wallMs,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

function runInChild(variant: Variant, filePath: string): Promise<Measurement> {
  return new Promise((resolvePromise, reject) => {
    // The child loads this TypeScript file itself, however the parent was started.
    const child = fork(__filename, ['--child', variant, filePath], { execArgv: ['--import', 'tsx'] });
    child.once('message', (message) => resolvePromise(message as Measurement));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${variant}: child exited with ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const [flag, childVariant, childPath] = process.argv.slice(2);
  if (flag === '--child') {
    const measurement = await measure(childVariant as Variant, childPath);
    // Disconnect rather than exit: exceljs removes its temporary sheet file asynchronously.
    process.send?.(measurement, undefined, {}, () => process.disconnect());
    return;
  }

  const filePath = resolve(flag ?? DEFAULT_WORKBOOK);
  if (!existsSync(filePath)) throw new Error(`${filePath} not found: pass the workbook's path`);
  console.log(`workbook: ${filePath} (${(statSync(filePath).size / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`chosen reader options: ${JSON.stringify(WORKBOOK_READER_OPTIONS)}`);
  for (const variant of Object.keys(VARIANTS) as Variant[]) console.log(`- ${variant}: ${VARIANTS[variant]}`);
  // Two rounds, interleaved, so a burst of load elsewhere on the machine does not favour one variant.
  const measurements: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of Object.keys(VARIANTS) as Variant[]) measurements.push(await runInChild(variant, filePath));
  }
  console.table(
    measurements.map((m, i) => ({
      round: Math.floor(i / Object.keys(VARIANTS).length) + 1,
      variant: m.variant,
      rows: m.rows,
      'rows/s': Math.round(m.rows / (m.wallMs / 1000)),
      'wall s': +(m.wallMs / 1000).toFixed(2),
      'file fully read at (% of wall)': Math.round(m.fileReadAtPercent),
      'peak RSS MiB': Math.round(m.peakRssMiB),
    })),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
