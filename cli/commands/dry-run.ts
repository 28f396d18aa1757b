/**
 * `segment run --file PATH --dry-run`: load, clean and aggregate the workbook in this process and
 * show what a run would produce, without Temporal, Kafka or MySQL. Its own module so that it
 * loads none of their client libraries: that alone was a quarter of a second and 45 MiB.
 */
import cliProgress from 'cli-progress';
import { loadConfig, type AppConfig } from '../../lib/config';
import { relativeToDataDir, resolveWorkbookPath } from '../../lib/data-dir';
import { InvalidInputError } from '../../lib/errors';
import { readRfmRules } from '../../lib/segmentation/rfm-rules';
import { INPUT_FIELDS } from '../../workflows/segmentation-input';
import { centsText } from '../../lib/segmentation/rfm-scores';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import { groupedDecimal, printTable } from '../print-table';
import type { RunOptions } from './run';

export async function dryRunCommand(options: RunOptions, config: AppConfig = loadConfig()): Promise<number> {
  if (options.file?.length !== 1) throw new Error('--dry-run reads one workbook: give one --file');
  // The preview counts the one file as a snapshot of all time: it would show other segments than such a run.
  if ((options.mode !== undefined && options.mode !== 'snapshot') || (options.window !== undefined && options.window !== 'all')) {
    throw new Error('--dry-run previews the file as a snapshot with window all: leave out --mode and --window');
  }
  const workbook = resolveWorkbookPath(config.dataDir, relativeToDataDir(config.dataDir, options.file[0]));
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ stream: process.stderr, format: ' Reading {file} |{bar}| {percentage}%', hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(1, 0, { file: workbook.displayName });
  const preview = await previewWorkbook({
    filePath: workbook.absolutePath,
    displayName: workbook.displayName,
    sheet: options.sheet ?? undefined,
    reader: options.reader,
    threshold: options.threshold ?? undefined,
    rfm: {
      rules: readRfmRules(config.dataDir, options.rfmRules ? relativeToDataDir(config.dataDir, options.rfmRules, 'rfmRules') : null),
      asOf: checkedAsOf(options.asOf),
    },
    onBytesRead: (bytesRead, totalBytes) => {
      bar?.setTotal(totalBytes);
      bar?.update(bytesRead);
    },
  }).finally(() => bar?.stop());
  const outcome = {
    workflowId: null,
    status: 'dry-run',
    rowsRead: preview.report.rowsRead,
    rowsKept: preview.report.rowsKept,
    customers: preview.customers,
    low: preview.low,
    high: preview.high,
    purchases: preview.purchases,
    dataQuality: preview.report,
    topCustomers: preview.topCustomers,
    rfm: preview.rfm,
    sheets: preview.sheets,
    skippedSheets: preview.skippedSheets,
  };
  if (options.json) {
    console.log(JSON.stringify(outcome));
  } else {
    printTable(Object.entries(preview.report.rowsDropped).map(([reason, rows]) => ({ dropped: reason, rows })));
    console.log('');
    printTable([
      { FrequencyCategory: 'Low Frequency', Customers: preview.low },
      { FrequencyCategory: 'High Frequency', Customers: preview.high },
      { FrequencyCategory: 'All customers', Customers: preview.customers },
    ]);
    console.log('');
    printTable([
      ...preview.rfm.segments.map(({ segment, customers, monetary }) => ({ RfmSegment: segment, Customers: customers, Monetary: groupedDecimal(monetary) })),
      { RfmSegment: 'All customers', Customers: preview.customers, Monetary: groupedDecimal(centsText(preview.rfm.segments.reduce((total, { monetary }) => total + BigInt(monetary.replace('.', '')), 0n))) },
    ]);
    console.log(`RFM as of ${preview.rfm.asOf ?? '(no dated invoice)'}, segments from ${preview.rfm.rules}`);
    for (const { sheet, reason } of preview.skippedSheets ?? []) console.log(`skipped sheet "${sheet}": ${reason}`);
    console.log(
      `\nrows read ${preview.report.rowsRead.toLocaleString('en-US')}, kept ${preview.report.rowsKept.toLocaleString('en-US')}` +
        ` from ${(preview.sheets ?? []).map((sheet) => `"${sheet}"`).join(', ')} (dry run: nothing written)`,
    );
  }
  return 0;
}

/** --as-of as the workflow would take it (workflows/segmentation-input.ts). */
function checkedAsOf(asOf: string | null | undefined): string | null {
  const parsed = INPUT_FIELDS.asOf.schema.safeParse(asOf);
  if (!parsed.success) throw new InvalidInputError('asOf', parsed.error.issues[0].message);
  return parsed.data;
}
