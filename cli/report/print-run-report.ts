/** The run report in a terminal: plain tables and a histogram drawn with block characters. */
import { DROP_REASONS } from '../../lib/cleaning/drop-reason';
import { SCORES } from '../../lib/segmentation/rfm-rules';
import { groupedDecimal, printTable } from '../print-table';
import { DROP_REASON_LABELS } from './drop-reason-labels';
import { monetaryShare } from './monetary-share';
import type { HistogramBin } from './purchase-count-histogram';
import { describeInvoices } from '../../workflows/describe-invoices';
import { changedCustomers, type ReportedRun, type RunReport } from './run-report';

const BAR_WIDTH = 40;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const number = (value: number) => value.toLocaleString('en-US');
const share = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '').padStart(6);

export function printRunReport(report: RunReport, options: { limit: number; movedOnly?: boolean }, write = (line: string) => console.log(line)): void {
  if (!options.movedOnly) {
    printRun(report, write);
    printDataQuality(report, write);
    printSegments(report, write);
    printHistogram(report, write);
    printRfmSegments(report, write);
  }
  printChanges(report, options.limit, write);
}

function printRun({ run, published }: RunReport, write: (line: string) => void): void {
  const publication = published ? 'its result is in customer_segments' : 'not the result in customer_segments';
  write(`Run ${run.workflowId} (run key ${run.runId}): ${run.status}, ${publication}`);
  write(`  ${describeTimes(run)}; Low Frequency is at most ${run.threshold} invoices`);
  for (const file of run.files) {
    const facts = file.sha256 ? `: ${number(file.size!)} bytes, modified ${file.mtime}, sha256 ${file.sha256}; sheets ${file.sheets!.join(', ')}` : '';
    write(`  read ${file.file}${facts}`);
  }
  if (run.dataDate) write(`  data date ${run.dataDate.replace('T', ' ')} (${run.mode === 'append' ? "the ledger's newest invoice after the merge" : 'newest kept invoice'})`);
  for (const line of describeInvoices(run)) write(`  ${line}`);
  if (run.error) write(`  error: ${run.error}`);
  printAudit(run, write);
}

function printAudit({ audit }: ReportedRun, write: (line: string) => void): void {
  if (!audit) return;
  write('');
  if (audit.superseded) return write(`Audit: not compared, run ${audit.comparedWith} holds newer data`);
  if (audit.outcome === 'off') return write('Audit: off for this run');
  write(`Audit: ${audit.outcome}, ${audit.comparedWith ? `against published run ${audit.comparedWith}` : 'nothing was published yet'}`);
  printTable(audit.checks.map((check) => ({ check: check.name, outcome: check.outcome, limit: check.limit ?? 'off', published: check.published ?? '', run: check.run, measured: check.measured ?? '' })));
  if (audit.approval) write(`  approved by ${audit.approval.by ?? 'an operator'} at ${audit.approval.at}${audit.approval.reason ? `: ${audit.approval.reason}` : ''}`);
}

function printDataQuality({ dataQuality }: RunReport, write: (line: string) => void): void {
  write('');
  write('Data quality');
  if (!dataQuality) {
    write('  (the run has not loaded its workbook)');
    return;
  }
  const { rowsRead, rowsKept, rowsDropped } = dataQuality;
  printTable(
    [
      { rows: 'read', count: rowsRead, share: share(rowsRead, rowsRead) },
      { rows: 'kept', count: rowsKept, share: share(rowsKept, rowsRead) },
      ...DROP_REASONS.map((reason) => ({ rows: `dropped: ${DROP_REASON_LABELS[reason]}`, count: rowsDropped[reason], share: share(rowsDropped[reason], rowsRead) })),
    ],
    write,
  );
}

function printSegments({ categories }: RunReport, write: (line: string) => void): void {
  const customers = categories.reduce((sum, category) => sum + category.Customers, 0);
  write('');
  write('Segments');
  printTable(
    [
      ...categories.map((category) => ({ FrequencyCategory: category.FrequencyCategory, Customers: category.Customers, share: share(category.Customers, customers) })),
      { FrequencyCategory: 'All customers', Customers: customers, share: '' },
    ],
    write,
  );
}

function printHistogram({ histogram, run }: RunReport, write: (line: string) => void): void {
  write('');
  write('PurchaseCount: customers by number of distinct invoices');
  if (histogram.length === 0) {
    write('  (no customers classified)');
    return;
  }
  const most = Math.max(...histogram.map((bin) => bin.customers));
  const all = histogram.reduce((sum, bin) => sum + bin.customers, 0);
  const labelWidth = Math.max(...histogram.map((bin) => bin.label.length));
  const countWidth = Math.max(...histogram.map((bin) => number(bin.customers).length));
  histogram.forEach((bin, index) => {
    if (index > 0 && bin.category !== histogram[index - 1].category) {
      write(`${' '.repeat(labelWidth + 2)}── above: Low Frequency (at most ${run.threshold}); below: High Frequency ──`);
    }
    write(`${bin.label.padStart(labelWidth)}  ${bar(bin, most).padEnd(BAR_WIDTH)}  ${number(bin.customers).padStart(countWidth)}  ${share(bin.customers, all).padStart(6)}`);
  });
}

/** A bar in eighths of a character; a bin with any customer shows at least a sliver. */
function bar(bin: HistogramBin, most: number): string {
  const eighths = most > 0 ? Math.round((bin.customers / most) * BAR_WIDTH * 8) : 0;
  const shown = bin.customers > 0 ? Math.max(1, eighths) : 0;
  return '█'.repeat(Math.floor(shown / 8)) + EIGHTHS[shown % 8];
}

/** The named segments with their customers and Monetary, then the recency × frequency grid; a run from before RFM says so. */
function printRfmSegments({ rfm, categories }: RunReport, write: (line: string) => void): void {
  write('');
  if (!rfm) {
    const classified = categories.some((category) => category.Customers > 0);
    write(classified ? 'RFM segments: none, the run is from before RFM segments (its history has no RfmSegment)' : 'RFM segments: no customers classified');
    return;
  }
  write(`RFM segments, as of ${rfm.asOf ?? '(no dated invoice)'}, map ${rfm.rules ?? '(not recorded)'}`);
  printTable(
    [
      ...rfm.segments.map((segment) => ({
        RfmSegment: segment.RfmSegment,
        Customers: segment.Customers,
        share: share(segment.Customers, rfm.customers),
        Monetary: groupedDecimal(segment.Monetary),
        // Right-aligned under its heading (printTable right-aligns only numbers).
        'of Monetary': monetaryShare(segment.Monetary, rfm.monetary).padStart('of Monetary'.length),
      })),
      { RfmSegment: 'All customers', Customers: rfm.customers, share: '', Monetary: groupedDecimal(rfm.monetary), 'of Monetary': '' },
    ],
    write,
  );
  if (rfm.order === 'history') write(`  (in the order of their score pairs: the map ${rfm.rules ?? ''} no longer reads as the run used it)`);
  write('');
  // Drawn as the HTML heat map is: RecencyScore across (the most recent right), FrequencyScore up.
  write('Recency × frequency: customers per pair of scores (RecencyScore across, 5 the most recent; FrequencyScore up, 5 the most invoices)');
  printTable(
    [...SCORES].reverse().map((frequency) => ({
      FrequencyScore: String(frequency),
      ...Object.fromEntries(SCORES.map((recency) => [`RecencyScore ${recency}`, rfm.grid.customers[recency - 1][frequency - 1]])),
    })),
    write,
  );
}

/** What changed since the previous published run: categories, segment moves per pair, and the customers behind them. */
function printChanges(report: RunReport, limit: number, write: (line: string) => void): void {
  const { previousRun, changes, segmentMoves } = report;
  write('');
  if (!previousRun) {
    write('Changes since the previous published run: none to compare with (no run started before this one was ever published)');
    return;
  }
  write(`Changes since the previous published run, ${previousRun.workflowId} (${describeTimes(previousRun)}, read ${previousRun.files.map((file) => file.file).join(', ')})`);
  write(
    `  ${number(changes.lowToHigh)} Low → High, ${number(changes.highToLow)} High → Low; ` +
      `${number(changes.newCustomers)} new customers, ${number(changes.goneCustomers)} no longer in the export`,
  );
  if (!segmentMoves?.compared) write('  RFM segments not compared: one of the two runs is from before RFM segments');
  else if (segmentMoves.pairs.length === 0) write('  no customer changed RFM segment');
  else {
    write(`  ${number(segmentMoves.customers.length)} customers changed RFM segment:`);
    printTable(segmentMoves.pairs.map((pair) => ({ 'RfmSegment move': `${pair.From} → ${pair.To}`, customers: pair.Customers })), write);
  }
  const changed = changedCustomers(report);
  if (changed.length === 0) return;
  write('');
  write('Customers who changed category or RFM segment');
  printTable(
    changed.slice(0, limit).map((customer) => ({
      CustomerID: String(customer.CustomerID),
      'segment before': customer.SegmentBefore ?? '–',
      'segment now': customer.SegmentAfter ?? '–',
      'category before': customer.CategoryBefore,
      'category now': customer.CategoryAfter,
      'invoices before': customer.PurchasesBefore,
      'invoices now': customer.PurchasesAfter,
    })),
    write,
  );
  if (changed.length > limit) write(`  (the ${number(limit)} biggest changes of ${number(changed.length)}; --limit N shows more, --json all)`);
}

function describeTimes(run: ReportedRun): string {
  const started = `started ${run.startedAt.replace('T', ' ').slice(0, 19)} UTC`;
  if (!run.finishedAt) return started;
  return `${started}, took ${((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1)} s`;
}
