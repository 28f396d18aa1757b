/**
 * The classic RFM grid as a heat map: RecencyScore across (1 to 5, the most recent on the right),
 * FrequencyScore up (5, the most invoices, at the top), so Champions sit top right and Hibernating
 * bottom left. Each cell gives its customers, its share and its segment, coloured by its count;
 * a dark line runs where neighbouring cells belong to different segments, so the segments read as
 * areas, as on the usual RFM segment map. A plain HTML table
 * with inline colours: no script, nothing to load.
 */
import { SCORES } from '../../lib/segmentation/rfm-rules';
import { escape } from './html-escape';
import type { RfmSegments } from './rfm-segments-report';

/** The colour of an empty cell and of the fullest one; counts in between are blended linearly. */
const EMPTY = [241, 245, 251];
const FULLEST = [23, 64, 126];
/** Above this share of the fullest count, a cell's text turns white. */
const LIGHT_TEXT_FROM = 0.45;
/** Pixels of the line between segments. */
const BOUNDARY = 3;

const number = (value: number) => value.toLocaleString('en-US');

export function heatMapHtml(rfm: RfmSegments): string {
  const { customers, segments } = rfm.grid;
  const most = Math.max(1, ...customers.flat());
  const segmentAt = (recency: number, frequency: number) => segments[recency - 1][frequency - 1];
  const rows = [...SCORES].reverse().map((frequency) => {
    const cells = SCORES.map((recency) => {
      const count = customers[recency - 1][frequency - 1];
      const segment = segments[recency - 1][frequency - 1];
      const t = count / most;
      // A line where the segment changes: inside this cell, on its left (lower recency) or top (higher frequency) side; the grid's outer edge is its border.
      const lines = [
        recency > 1 && segmentAt(recency - 1, frequency) !== segment ? `inset ${BOUNDARY}px 0 0 var(--ink)` : '',
        frequency < 5 && segmentAt(recency, frequency + 1) !== segment ? `inset 0 ${BOUNDARY}px 0 var(--ink)` : '',
      ].filter(Boolean);
      const name = segment ?? '';
      const title = `RecencyScore ${recency}, FrequencyScore ${frequency}: ${number(count)} customers${segment ? ` (${segment})` : ''}`;
      return (
        `<td class="cell" data-recency="${recency}" data-frequency="${frequency}" data-customers="${count}" data-segment="${escape(name)}" ` +
        `style="background:${blend(t)};color:${t > LIGHT_TEXT_FROM ? '#ffffff' : '#1d2433'}${lines.length ? `;box-shadow:${lines.join(', ')}` : ''}" title="${escape(title)}">` +
        `<span class="count">${number(count)}</span><span class="segment">${escape(name)}</span><span class="share">${percent(count, rfm.customers)}</span></td>`
      );
    });
    return `<tr><th scope="row">${frequency}</th>${cells.join('')}</tr>`;
  });
  return `<div class="heat-map">
    <div class="axis-y">FrequencyScore <span>(more invoices ↑)</span></div>
    <table class="heat-map-grid" aria-label="Customers per RecencyScore and FrequencyScore">
      <tbody>
      ${rows.join('\n      ')}
      <tr class="recency"><td></td>${SCORES.map((recency) => `<th scope="col">${recency}</th>`).join('')}</tr>
      </tbody>
    </table>
    <div class="axis-x">RecencyScore <span>(more recent →)</span></div>
    <div class="scale"><span>0</span><i style="background:linear-gradient(90deg, ${blend(0)}, ${blend(LIGHT_TEXT_FROM)}, ${blend(1)})"></i><span>${number(most)} customers</span></div>
  </div>`;
}

function blend(t: number): string {
  const channel = (i: number) => Math.round(EMPTY[i] + (FULLEST[i] - EMPTY[i]) * t).toString(16).padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–';
}

/** The heat map's CSS, for the page's one style sheet. */
export const HEAT_MAP_STYLE = `
.heat-map { display: grid; grid-template-columns: 28px minmax(0, 1fr); grid-template-rows: auto auto auto; column-gap: 6px; }
.heat-map .axis-y { grid-row: 1; grid-column: 1; writing-mode: vertical-rl; transform: rotate(180deg); text-align: center; color: var(--muted); font-size: 13px; }
.heat-map .axis-x { grid-row: 2; grid-column: 2; text-align: center; color: var(--muted); font-size: 13px; padding-left: 36px; margin-top: 2px; }
.heat-map .axis-x span, .heat-map .axis-y span { font-size: 12px; }
.heat-map-grid { grid-row: 1; grid-column: 2; border-collapse: collapse; table-layout: fixed; width: 100%; }
.heat-map-grid th { color: var(--muted); font-weight: 600; font-size: 13px; text-align: center; vertical-align: middle; border: 0; padding: 4px; }
.heat-map-grid tr > th:first-child { width: 36px; }
.heat-map-grid td { border: 0; padding: 0; }
.heat-map-grid tbody tr:first-child td.cell { border-top: ${BOUNDARY}px solid var(--ink); }
.heat-map-grid td.cell { height: 86px; padding: 8px 10px 8px 12px; vertical-align: top; border: 1px solid rgba(255, 255, 255, 0.6); position: relative; }
.heat-map-grid td.cell:nth-child(2) { border-left: ${BOUNDARY}px solid var(--ink); }
.heat-map-grid td.cell:last-child { border-right: ${BOUNDARY}px solid var(--ink); }
.heat-map-grid tr:nth-last-child(2) td.cell { border-bottom: ${BOUNDARY}px solid var(--ink); }
.heat-map-grid .count { display: block; font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.2; }
.heat-map-grid .segment { display: block; font-size: 12px; line-height: 1.25; margin-top: 2px; }
.heat-map-grid .share { position: absolute; right: 8px; top: 10px; font-size: 11px; opacity: 0.8; font-variant-numeric: tabular-nums; }
.heat-map .scale { grid-row: 3; grid-column: 2; display: flex; align-items: center; gap: 8px; justify-content: flex-end; color: var(--muted); font-size: 12px; margin-top: 10px; }
.heat-map .scale i { display: inline-block; width: 180px; height: 10px; border-radius: 2px; }
`;
