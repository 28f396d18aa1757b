/**
 * The run report as one self-contained HTML page: inline CSS, the histogram as inline SVG, the
 * recency × frequency heat map as a table, no script and nothing loaded from the network, so it
 * can be mailed, archived or opened offline. Every value from the data is escaped.
 */
import { DROP_REASONS } from '../../lib/cleaning/drop-reason';
import type { FrequencyCategory } from '../../lib/segmentation/frequency-category';
import { groupedDecimal } from '../print-table';
import { DROP_REASON_LABELS } from './drop-reason-labels';
import { describeInvoices } from '../../workflows/describe-invoices';
import { escape } from './html-escape';
import { HEAT_MAP_STYLE, heatMapHtml } from './html-heat-map';
import { cents, monetaryShare } from './monetary-share';
import type { HistogramBin } from './purchase-count-histogram';
import { changedCustomers, type ReportedRun, type RunReport } from './run-report';
import type { SegmentMove } from './rfm-segments-report';

/** Rows of the changed-customers table; the page says how many more there are. */
const MOVED_ROWS = 200;
/** More segment moves than this go in two columns. */
const MOVES_IN_ONE_COLUMN = 8;
const COLOURS: Record<FrequencyCategory, string> = { 'Low Frequency': '#3b6fb6', 'High Frequency': '#e07b28' };

const number = (value: number) => value.toLocaleString('en-US');
const percent = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–');

export function htmlRunReport(report: RunReport, generatedAt = new Date()): string {
  const { run } = report;
  const customers = report.categories.reduce((sum, category) => sum + category.Customers, 0);
  const [low, high] = report.categories.map((category) => category.Customers);
  const quality = report.dataQuality;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer segmentation report: ${escape(run.workflowId)}</title>
<style>${STYLE}${HEAT_MAP_STYLE}</style>
</head>
<body>
<main>
<header>
  <h1>Customer segmentation report</h1>
  <p class="run"><strong>${escape(run.workflowId)}</strong> <span class="status ${escape(run.status)}">${escape(run.status)}</span>
  ${report.published ? '<span class="published">in customer_segments now</span>' : '<span class="not-published">not the result in customer_segments</span>'}</p>
  <p class="meta">${escape(describeTimes(run))} · run key <code>${escape(run.runId)}</code> · Low Frequency is at most ${number(run.threshold)} invoices${run.dataDate ? ` · data date ${escape(run.dataDate.replace('T', ' '))}` : ''}</p>
  <p class="meta">${describeInvoices(run).map(escape).join(' · ')}</p>
  ${run.error ? `<p class="error">${escape(run.error)}</p>` : ''}
</header>
<section class="tiles${report.rfm ? ' with-monetary' : ''}">
  ${tile('rows read', quality ? number(quality.rowsRead) : '–')}
  ${tile('rows kept', quality ? number(quality.rowsKept) : '–', quality ? percent(quality.rowsKept, quality.rowsRead) : '')}
  ${tile('customers', number(customers))}
  ${tile('Low Frequency', number(low), percent(low, customers), COLOURS['Low Frequency'])}
  ${tile('High Frequency', number(high), percent(high, customers), COLOURS['High Frequency'])}
  ${report.rfm ? tile('Monetary', groupedDecimal(report.rfm.monetary), report.rfm.asOf ? `RFM as of ${escape(report.rfm.asOf)}` : '') : ''}
</section>
<section>
  <h2>Customers by number of distinct invoices (PurchaseCount)</h2>
  ${report.histogram.length ? histogramSvg(report.histogram, run.threshold) : '<p>No customers classified.</p>'}
</section>
<section class="columns">
  <div>
    <h2>Data quality</h2>
    ${quality ? dataQualityTable(quality) : '<p>The run has not loaded its workbook.</p>'}
  </div>
  <div>
    <h2>Segments</h2>
    <div class="stack" role="img" aria-label="${number(low)} Low Frequency, ${number(high)} High Frequency">
      <span style="flex:${low};background:${COLOURS['Low Frequency']}"></span><span style="flex:${high};background:${COLOURS['High Frequency']}"></span>
    </div>
    <table>
      <thead><tr><th>FrequencyCategory</th><th class="n">Customers</th><th class="n">share</th></tr></thead>
      <tbody>
        ${report.categories.map((category) => `<tr><td><i style="background:${COLOURS[category.FrequencyCategory]}"></i>${escape(category.FrequencyCategory)}</td><td class="n">${number(category.Customers)}</td><td class="n">${percent(category.Customers, customers)}</td></tr>`).join('\n        ')}
        <tr class="total"><td>All customers</td><td class="n">${number(customers)}</td><td></td></tr>
      </tbody>
    </table>
  </div>
</section>
${rfmSections(report)}
${auditSection(run)}
<section>
  <h2>Changes since the previous published run</h2>
  ${movedSection(report)}
</section>
<section>
  <h2>Workbook read</h2>
  ${filesTable(run)}
</section>
<footer>Written by <code>segment report --html</code> at ${escape(generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC. One file: no script, nothing loaded from the network.</footer>
</main>
</body>
</html>
`;
}

/** The checks before publication, as a table: what each saw, published against this run. */
function auditSection({ audit }: ReportedRun): string {
  if (!audit) return '';
  const heading = '<h2>Audit before publication</h2>';
  if (audit.superseded) return `<section>${heading}<p>Not compared: run <code>${escape(audit.comparedWith ?? '')}</code> holds newer data.</p></section>`;
  if (audit.outcome === 'off') return `<section>${heading}<p>Off for this run.</p></section>`;
  const against = audit.comparedWith ? `against published run <code>${escape(audit.comparedWith)}</code>` : 'nothing was published yet';
  const rows = audit.checks
    .map((check) => `<tr class="${escape(check.outcome)}"><td>${escape(check.name)}</td><td>${escape(check.outcome)}</td><td>${escape(check.summary)}</td></tr>`)
    .join('\n      ');
  const approval = audit.approval
    ? `<p>Approved by ${escape(audit.approval.by ?? 'an operator')} at ${escape(audit.approval.at)}${audit.approval.reason ? `: ${escape(audit.approval.reason)}` : ''}</p>`
    : '';
  return `<section>${heading}<p>${escape(audit.outcome)}, ${against}</p>
  <table>
    <thead><tr><th>check</th><th>outcome</th><th>what it saw</th></tr></thead>
    <tbody>
      ${rows}
    </tbody>
  </table>${approval}</section>`;
}

function tile(label: string, value: string, note = '', colour?: string): string {
  return `<div class="tile"${colour ? ` style="border-top-color:${colour}"` : ''}><div class="label">${escape(label)}</div><div class="value">${value}</div><div class="note">${note}</div></div>`;
}

/** Vertical bars, one per bin, coloured by segment, with the threshold marked between them. */
function histogramSvg(bins: HistogramBin[], threshold: number): string {
  const width = 880;
  const height = 330;
  const margin = { top: 40, right: 16, bottom: 58, left: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const step = niceStep(Math.max(...bins.map((bin) => bin.customers)));
  const top = Math.max(step, Math.ceil(Math.max(...bins.map((bin) => bin.customers)) / step) * step);
  const slot = plotWidth / bins.length;
  const barWidth = Math.min(64, slot * 0.78);
  const y = (value: number) => margin.top + plotHeight - (value / top) * plotHeight;
  const parts: string[] = [];
  for (let tick = 0; tick <= top; tick += step) {
    parts.push(`<line class="grid" x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}"/>`);
    parts.push(`<text class="tick" x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end">${number(tick)}</text>`);
  }
  bins.forEach((bin, index) => {
    const centre = margin.left + slot * (index + 0.5);
    const barTop = y(bin.customers);
    parts.push(
      `<rect x="${(centre - barWidth / 2).toFixed(1)}" y="${barTop.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(margin.top + plotHeight - barTop).toFixed(1)}" fill="${COLOURS[bin.category]}"><title>${escape(bin.label)} invoices: ${number(bin.customers)} customers (${escape(bin.category)})</title></rect>`,
    );
    parts.push(`<text class="count" x="${centre.toFixed(1)}" y="${(barTop - 6).toFixed(1)}" text-anchor="middle">${number(bin.customers)}</text>`);
    parts.push(`<text class="tick" x="${centre.toFixed(1)}" y="${margin.top + plotHeight + 18}" text-anchor="middle">${escape(bin.label)}</text>`);
    if (index > 0 && bin.category !== bins[index - 1].category) {
      const x = (margin.left + slot * index).toFixed(1);
      parts.push(`<line class="threshold" x1="${x}" x2="${x}" y1="${margin.top - 6}" y2="${margin.top + plotHeight}"/>`);
    }
  });
  parts.push(`<line class="axis" x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}"/>`);
  parts.push(`<text class="axis-title" x="${margin.left + plotWidth / 2}" y="${height - 12}" text-anchor="middle">PurchaseCount (distinct invoices per customer)</text>`);
  parts.push(`<text class="axis-title" transform="translate(16 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">customers</text>`);
  // The legend says where the threshold (the dashed line) puts each bar.
  const legend = [
    { category: 'Low Frequency' as const, text: `Low Frequency: at most ${number(threshold)} invoices` },
    { category: 'High Frequency' as const, text: `High Frequency: more than ${number(threshold)}` },
  ]
    .map(({ category, text }, index) => {
      const x = margin.left + index * 240;
      return `<rect x="${x}" y="2" width="12" height="12" fill="${COLOURS[category]}"/><text class="legend" x="${x + 18}" y="12">${escape(text)}</text>`;
    })
    .join('');
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="Histogram of PurchaseCount" xmlns="http://www.w3.org/2000/svg">${parts.join('')}${legend}</svg>`;
}

/** 1, 2 or 5 times a power of ten, giving four to eight grid lines. */
function niceStep(most: number): number {
  const raw = Math.max(1, most) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((multiple) => multiple * power).find((candidate) => candidate >= raw)!;
  return Math.max(1, step);
}

function dataQualityTable(quality: NonNullable<RunReport['dataQuality']>): string {
  const dropped = quality.rowsRead - quality.rowsKept;
  const row = (label: string, count: number, kind: string) =>
    `<tr class="${kind}"><td>${escape(label)}</td><td class="n">${number(count)}</td><td class="n">${percent(count, quality.rowsRead)}</td><td class="bar"><span style="width:${quality.rowsRead ? (100 * count) / quality.rowsRead : 0}%"></span></td></tr>`;
  return `<table>
      <thead><tr><th>rows</th><th class="n">count</th><th class="n">share</th><th></th></tr></thead>
      <tbody>
        ${row('read', quality.rowsRead, 'total')}
        ${row('kept', quality.rowsKept, 'kept')}
        ${row('dropped', dropped, 'dropped')}
        ${DROP_REASONS.map((reason) => row(DROP_REASON_LABELS[reason], quality.rowsDropped[reason], 'reason')).join('\n        ')}
      </tbody>
    </table>`;
}

/** The named segments with their customers and Monetary, and the heat map; a run from before RFM says so. */
function rfmSections({ rfm, categories }: RunReport): string {
  if (!rfm) {
    const classified = categories.some((category) => category.Customers > 0);
    const why = classified ? 'This run is from before RFM segments: its history has no RfmSegment.' : 'No customers classified.';
    return `<section class="rfm">\n  <h2>RFM segments</h2>\n  <p>${why}</p>\n</section>`;
  }
  // Bars against the biggest segment (customers, Monetary), so the longest fills its column.
  const most = Math.max(1, ...rfm.segments.map((segment) => segment.Customers));
  const richest = rfm.segments.reduce((top, segment) => (cents(segment.Monetary) > cents(top) ? segment.Monetary : top), '0.00');
  const rows = rfm.segments
    .map((segment) => {
      const moneyBar = monetaryShare(segment.Monetary, richest);
      return (
        `<tr><td>${escape(segment.RfmSegment)}</td><td class="n">${number(segment.Customers)}</td><td class="n">${percent(segment.Customers, rfm.customers)}</td>` +
        `<td class="bar customers"><span style="width:${((100 * segment.Customers) / most).toFixed(1)}%"></span></td>` +
        `<td class="n">${escape(groupedDecimal(segment.Monetary))}</td><td class="n">${monetaryShare(segment.Monetary, rfm.monetary)}</td>` +
        `<td class="bar monetary"><span style="width:${moneyBar === '–' ? '0%' : moneyBar}"></span></td></tr>`
      );
    })
    .join('\n      ');
  const order = rfm.order === 'history' ? `<p class="note">In the order of their score pairs: the map ${escape(rfm.rules ?? '')} no longer reads as the run used it.</p>` : '';
  return `<section class="rfm">
  <h2>RFM segments</h2>
  <p class="meta">As of ${escape(rfm.asOf ?? '(no dated invoice)')}, segments from <code>${escape(rfm.rules ?? '(not recorded)')}</code>; Monetary is Σ Quantity × UnitPrice of kept rows, exact to the cent.</p>
  <table class="segments">
    <thead><tr><th>RfmSegment</th><th class="n">Customers</th><th class="n">share</th><th></th><th class="n">Monetary</th><th class="n">share</th><th></th></tr></thead>
    <tbody>
      ${rows}
      <tr class="total"><td>All customers</td><td class="n">${number(rfm.customers)}</td><td></td><td></td><td class="n">${escape(groupedDecimal(rfm.monetary))}</td><td></td><td></td></tr>
    </tbody>
  </table>
  ${order}
</section>
<section class="rfm-grid">
  <h2>Recency × frequency: customers per pair of scores</h2>
  ${heatMapHtml(rfm)}
</section>`;
}

function movedSection(report: RunReport): string {
  const { previousRun, changes, segmentMoves } = report;
  if (!previousRun) return '<p>No earlier published run to compare with: no run started before this one was ever published.</p>';
  const summary = `<p>Compared with <strong>${escape(previousRun.workflowId)}</strong>, the newest run started before this one whose result was published (${escape(describeTimes(previousRun))}, read ${escape(previousRun.files.map((file) => file.file).join(', '))}):
  <strong>${number(changes.lowToHigh)}</strong> Low → High, <strong>${number(changes.highToLow)}</strong> High → Low;
  ${number(changes.newCustomers)} new customers, ${number(changes.goneCustomers)} no longer in the export.</p>`;
  const moves = segmentMovesTable(segmentMoves);
  const changed = changedCustomers(report);
  if (changed.length === 0) return `${summary}\n  ${moves}`;
  const rows = changed
    .slice(0, MOVED_ROWS)
    .map(
      (customer) =>
        `<tr><td>${customer.CustomerID}</td><td>${escape(customer.SegmentBefore ?? '–')}</td><td>${escape(customer.SegmentAfter ?? '–')}</td>` +
        `<td>${escape(customer.CategoryBefore)}</td><td>${escape(customer.CategoryAfter)}</td><td class="n">${number(customer.PurchasesBefore)}</td><td class="n">${number(customer.PurchasesAfter)}</td></tr>`,
    )
    .join('\n      ');
  const more = changed.length > MOVED_ROWS ? `<p class="note">The ${MOVED_ROWS} biggest changes of ${number(changed.length)}; <code>segment report --json</code> lists all.</p>` : '';
  // Folded: a long list would bury the rest of the page; --moved and --json have it too.
  return `${summary}
  ${moves}
  <details class="moved">
  <summary>The ${number(changed.length)} customers who changed category or RFM segment</summary>
  <table class="moved">
    <thead><tr><th>CustomerID</th><th>segment before</th><th>segment now</th><th>category before</th><th>category now</th><th class="n">invoices before</th><th class="n">invoices now</th></tr></thead>
    <tbody>
      ${rows}
    </tbody>
  </table>
  ${more}
  </details>`;
}

/** Customers per move between named segments, the biggest first, with a bar each. */
function segmentMovesTable(segmentMoves: RunReport['segmentMoves']): string {
  if (!segmentMoves?.compared) return '<p>RFM segments not compared: one of the two runs is from before RFM segments.</p>';
  if (segmentMoves.pairs.length === 0) return '<p>No customer changed RFM segment.</p>';
  const most = Math.max(...segmentMoves.pairs.map((pair) => pair.Customers));
  const row = (pair: SegmentMove) =>
    `<tr class="move" data-from="${escape(pair.From)}" data-to="${escape(pair.To)}" data-customers="${pair.Customers}"><td>${escape(pair.From)}</td><td class="arrow">→</td><td>${escape(pair.To)}</td>` +
    `<td class="n">${number(pair.Customers)}</td><td class="bar"><span style="width:${((100 * pair.Customers) / most).toFixed(1)}%"></span></td></tr>`;
  const table = (pairs: SegmentMove[]) => `<table class="moves">
      <thead><tr><th>from</th><th></th><th>to</th><th class="n">customers</th><th></th></tr></thead>
      <tbody>
        ${pairs.map(row).join('\n        ')}
      </tbody>
    </table>`;
  // Side by side past a few pairs (the biggest first, down the left column, then the right): the ten-name map has up to 90.
  const { pairs } = segmentMoves;
  const columns = pairs.length > MOVES_IN_ONE_COLUMN ? [pairs.slice(0, Math.ceil(pairs.length / 2)), pairs.slice(Math.ceil(pairs.length / 2))] : [pairs];
  return `<h3>Moves between RFM segments: ${number(segmentMoves.customers.length)} customers</h3>
  <div class="moves${columns.length > 1 ? ' two-columns' : ''}">
    ${columns.map(table).join('\n    ')}
  </div>`;
}

function filesTable(run: ReportedRun): string {
  const rows = run.files
    .map(
      (file) =>
        `<tr><td>${escape(file.file)}${file.sha256 ? `<div class="hash">sha256 <code>${escape(file.sha256)}</code></div>` : ''}</td>` +
        `<td class="n">${file.size === undefined ? '' : number(file.size)}</td>` +
        `<td class="nowrap">${escape(file.mtime ? `${file.mtime.replace('T', ' ').slice(0, 19)} UTC` : '')}</td><td>${escape(file.sheets?.join(', ') ?? '')}</td></tr>`,
    )
    .join('\n      ');
  return `<table class="files">
    <thead><tr><th>file (in DATA_DIR)</th><th class="n">bytes</th><th>modified</th><th>sheets</th></tr></thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

function describeTimes(run: ReportedRun): string {
  const started = `started ${run.startedAt.replace('T', ' ').slice(0, 19)} UTC`;
  if (!run.finishedAt) return started;
  return `${started}, took ${((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1)} s`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6476; --line: #dde2ea; --paper: #ffffff; --page: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 28px 24px 40px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 0 0 12px; }
header p { margin: 4px 0; }
.meta, .note, footer { color: var(--muted); font-size: 13px; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.status, .published, .not-published { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12px; font-weight: 600; margin-left: 6px; }
.status { background: #e7ecf3; }
.status.completed { background: #d7f3e3; color: #13653a; }
.status.superseded { background: #fdf0d5; color: #7a5200; }
.status.failed, .status.cancelled { background: #fbe0e0; color: #8a1c1c; }
.published { background: #d7f3e3; color: #13653a; }
.not-published { background: #eceff3; color: var(--muted); }
.error { color: #8a1c1c; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin-top: 16px; }
.tiles { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
/* Monetary is the widest figure (8,911,407.90 on the real workbook). */
.tiles.with-monetary { grid-template-columns: repeat(5, minmax(0, 1fr)) minmax(0, 1.45fr); }
.tiles.with-monetary .tile:last-child { border-top-color: #3aa76d; }
.tiles.with-monetary .tile:last-child .value { font-size: 22px; line-height: 35px; }
.tile { background: var(--paper); border: 1px solid var(--line); border-top: 4px solid #8892a6; border-radius: 8px; padding: 10px 14px; }
.tile .label { color: var(--muted); font-size: 13px; white-space: nowrap; }
.tile .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .note { color: var(--muted); font-size: 12px; min-height: 1em; }
.columns { display: grid; grid-template-columns: minmax(0, 1.5fr) minmax(0, 1fr); gap: 28px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
.n { text-align: right; white-space: nowrap; }
.nowrap { white-space: nowrap; }
tr.total td { font-weight: 600; }
td.bar { width: 24%; min-width: 110px; }
td.bar span { display: block; height: 10px; margin-top: 5px; border-radius: 2px; background: #9aa6ba; }
tr.kept td.bar span { background: #3aa76d; }
tr.dropped td.bar span, tr.reason td.bar span { background: #d9534f; }
tr.reason td:first-child { padding-left: 24px; color: var(--muted); }
td i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 8px; }
.stack { display: flex; height: 22px; border-radius: 4px; overflow: hidden; margin-bottom: 12px; }
.chart { width: 100%; height: auto; display: block; }
.chart text { font: 12px system-ui, sans-serif; fill: var(--muted); }
.chart .count { fill: var(--ink); font-weight: 600; }
.chart .axis-title { font-size: 13px; }
.chart .legend { fill: var(--ink); }
.chart .grid { stroke: var(--line); }
.chart .axis { stroke: #8892a6; }
.chart .threshold { stroke: var(--ink); stroke-dasharray: 4 4; }
.chart .threshold-label { fill: var(--ink); font-size: 12px; }
.hash { color: var(--muted); font-size: 12px; margin-top: 2px; }
footer { margin-top: 18px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
table.segments td.bar { width: 16%; min-width: 80px; }
table.segments td.bar.customers span { background: #3b6fb6; }
table.segments td.bar.monetary span { background: #3aa76d; }
div.moves.two-columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; align-items: start; }
table.moves { font-size: 14px; }
table.moves td { padding: 3px 6px; white-space: nowrap; }
table.moves td.bar { width: 22%; min-width: 40px; }
table.moves td.bar span { background: #7a5cc4; margin-top: 4px; }
table.moves td.arrow, table.moves th:nth-child(2) { color: var(--muted); width: 1.2em; padding-left: 0; padding-right: 0; text-align: center; }
details.moved { margin-top: 16px; }
details.moved summary { cursor: pointer; font-weight: 600; font-size: 15px; }
table.moved { font-size: 13px; margin-top: 8px; }
table.moved td { white-space: nowrap; padding: 3px 8px; }
`;
