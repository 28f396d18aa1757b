/**
 * Byte tokenizer or streaming XML parser for sheetData? Both parse the same inflated sheet,
 * already in memory in the 256 KiB pieces zlib hands out, so only parsing is timed:
 *
 * - saxes (the streaming parser exceljs uses), with the least work a reader must do per event:
 *   note each <c>'s reference and type, keep the text of <v> for the four decoded columns;
 * - the project's SheetTokenizer, building values for the four decoded columns only (as the
 *   reader runs), and for all columns.
 *
 *   npx tsx bench/reader-xml-parsers.bench.ts [path/to/online-retail.xlsx] [rounds]
 *
 * docs/performance.md ("Reading the workbook") quotes one run.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { DEFAULT_WORKBOOK_LIMITS } from '../lib/workbook/workbook-limits';
import { readWorkbookParts } from '../lib/workbook/workbook-parts';
import { readSharedStrings, type SharedStrings } from '../lib/workbook/shared-strings';
import { SheetTokenizer } from '../lib/workbook/sheet-tokenizer';
import { XlsxPackage } from '../lib/workbook/xlsx-package';

const workbook = resolve(process.argv[2] ?? resolve(__dirname, '../../shared/data/online-retail.xlsx'));
const rounds = Number(process.argv[3] ?? 5);
/** UCI column order: InvoiceNo, Quantity, UnitPrice, CustomerID. */
const DECODED = [1, 4, 6, 7];

function withSaxes(chunks: Buffer[]): number {
  const parser = new SaxesParser();
  const decoder = new StringDecoder('utf8');
  let rows = 0;
  let column = 0;
  let inValue = false;
  let value = '';
  let kept = 0;
  parser.on('opentag', (tag) => {
    if (tag.name === 'row') rows += 1;
    else if (tag.name === 'c') {
      const reference = String(tag.attributes.r ?? '');
      column = reference.charCodeAt(0) - 64;
    } else if (tag.name === 'v') {
      inValue = DECODED.includes(column);
      value = '';
    }
  });
  parser.on('text', (text) => {
    if (inValue) value += text;
  });
  parser.on('closetag', (tag) => {
    if (tag.name === 'v' && inValue) {
      kept += value.length > 0 ? 1 : 0;
      inValue = false;
    }
  });
  for (const chunk of chunks) parser.write(decoder.write(chunk));
  parser.close();
  return kept > 0 ? rows : 0;
}

function withTokenizer(chunks: Buffer[], sharedStrings: SharedStrings, columns: number[] | undefined): number {
  let rows = 0;
  const wanted = columns === undefined ? undefined : Uint8Array.from({ length: 9 }, (_, column) => (columns.includes(column) ? 1 : 0));
  const tokenizer = new SheetTokenizer(sharedStrings, DEFAULT_WORKBOOK_LIMITS, { file: 'bench' }, () => (rows += 1), { wanted });
  for (const chunk of chunks) tokenizer.write(chunk);
  tokenizer.end();
  return rows;
}

async function main(): Promise<void> {
  if (!existsSync(workbook)) throw new Error(`${workbook} not found: pass the workbook's path`);
  const xlsx = await XlsxPackage.open(workbook, 'bench', DEFAULT_WORKBOOK_LIMITS);
  const parts = await readWorkbookParts(xlsx);
  const sharedStrings = parts.sharedStringsPath ? await readSharedStrings(xlsx, parts.sharedStringsPath, DEFAULT_WORKBOOK_LIMITS) : [];
  const sheet = parts.sheets[0].partPath ?? '';
  const chunks: Buffer[] = [];
  for await (const chunk of xlsx.inflate(sheet)) chunks.push(chunk);
  xlsx.close();
  const megabytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0) / 1e6;

  const variants: Record<string, () => number> = {
    'saxes, 4 columns': () => withSaxes(chunks),
    'tokenizer, 4 columns (the reader)': () => withTokenizer(chunks, sharedStrings, DECODED),
    'tokenizer, all columns': () => withTokenizer(chunks, sharedStrings, undefined),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(variants)) {
      const started = performance.now();
      const rows = run();
      times[name].push(performance.now() - started);
      if (rows < 1) throw new Error(`${name} read no rows`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const tokenizer = median(times['tokenizer, 4 columns (the reader)']);
  console.log(`${workbook}: sheet ${sheet}, ${megabytes.toFixed(0)} MB of XML, median of ${rounds} rounds`);
  console.table(
    Object.entries(times).map(([variant, values]) => ({
      variant,
      'ms (median)': Math.round(median(values)),
      'MB/s': Math.round(megabytes / (median(values) / 1000)),
      'x the tokenizer': +(median(values) / tokenizer).toFixed(2),
    })),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
