/**
 * The growth bench's medians as a small SVG (no dependency): on the left a full run's seconds
 * against customers, split by step, with a dashed line for linear growth from the smallest size;
 * on the right the worker's peak RSS during the run.
 */
export interface GrowthPoint {
  customers: number;
  seconds: number;
  peakRssMiB: number;
  steps: Record<string, number>;
}

const WIDTH = 800;
const HEIGHT = 320;
const PANEL = { top: 40, bottom: 260, width: 300 };
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#9c755f'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const millions = (customers: number) => `${(customers / 1e6).toFixed(customers < 1e6 ? 1 : 0)}M`;

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value) ?? value;
}

function panel(left: number, title: string, unit: string, max: number, maxCustomers: number, body: (x: (c: number) => number, y: (v: number) => number) => string): string {
  const x = (customers: number) => left + (customers / maxCustomers) * PANEL.width;
  const y = (value: number) => PANEL.bottom - (value / max) * (PANEL.bottom - PANEL.top);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((share) => share * max);
  return [
    `<text x="${left}" y="24" font-weight="bold">${escape(title)}</text>`,
    ...ticks.map((tick) => `<line x1="${left}" x2="${left + PANEL.width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/><text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${+tick.toFixed(1)}</text>`),
    `<text x="${left - 40}" y="${PANEL.top - 10}">${escape(unit)}</text>`,
    ...[0.5, 1].map((share) => share * maxCustomers).map((c) => `<text x="${x(c)}" y="${PANEL.bottom + 16}" text-anchor="middle">${millions(c)}</text>`),
    `<text x="${left + PANEL.width / 2}" y="${PANEL.bottom + 34}" text-anchor="middle">customers</text>`,
    body(x, y),
  ].join('\n');
}

export function growthChart(points: GrowthPoint[]): string {
  const sorted = [...points].sort((a, b) => a.customers - b.customers);
  const maxCustomers = sorted.at(-1)!.customers;
  const smallest = sorted[0];
  const linearAtMax = (smallest.seconds / smallest.customers) * maxCustomers;
  const steps = Object.keys(smallest.steps);
  const time = panel(60, 'full run, seconds (median)', 's', niceMax(Math.max(linearAtMax, ...sorted.map((p) => p.seconds))), maxCustomers, (x, y) => {
    const barWidth = 22;
    const bars = sorted.map((point) => {
      let bottom = 0;
      return steps
        .map((step, at) => {
          const top = bottom + point.steps[step];
          const rect = `<rect x="${x(point.customers) - barWidth / 2}" y="${y(top)}" width="${barWidth}" height="${y(bottom) - y(top)}" fill="${COLOURS[at % COLOURS.length]}"><title>${escape(step)} ${point.steps[step].toFixed(1)} s</title></rect>`;
          bottom = top;
          return rect;
        })
        .join('');
    });
    const line = `<polyline fill="none" stroke="#000" stroke-width="1.5" points="${sorted.map((p) => `${x(p.customers)},${y(p.seconds)}`).join(' ')}"/>`;
    const linear = `<line x1="${x(0)}" y1="${y(0)}" x2="${x(maxCustomers)}" y2="${y(linearAtMax)}" stroke="#000" stroke-dasharray="4 3"/>`;
    const labels = sorted.map((p) => `<text x="${x(p.customers) + 14}" y="${y(p.seconds) - 4}">${p.seconds.toFixed(1)}</text>`);
    const legend = steps.map((step, at) => `<rect x="${x(0) + 8}" y="${PANEL.top + 4 + at * 14}" width="10" height="10" fill="${COLOURS[at % COLOURS.length]}"/><text x="${x(0) + 22}" y="${PANEL.top + 13 + at * 14}">${escape(step)}</text>`);
    const linearLabel = `<text x="${x(maxCustomers) - 4}" y="${y(linearAtMax) - 6}" text-anchor="end">linear from ${millions(smallest.customers)}</text>`;
    return [...bars, line, linear, linearLabel, ...labels, ...legend].join('\n');
  });
  const memory = panel(440, "worker's peak RSS during the run (median)", 'MiB', niceMax(Math.max(...sorted.map((p) => p.peakRssMiB))), maxCustomers, (x, y) =>
    [
      `<polyline fill="none" stroke="#4e79a7" stroke-width="2" points="${sorted.map((p) => `${x(p.customers)},${y(p.peakRssMiB)}`).join(' ')}"/>`,
      ...sorted.map((p) => `<circle cx="${x(p.customers)}" cy="${y(p.peakRssMiB)}" r="3" fill="#4e79a7"/><text x="${x(p.customers) + 6}" y="${y(p.peakRssMiB) - 6}">${p.peakRssMiB.toFixed(0)}</text>`),
    ].join('\n'),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
${time}
${memory}
</svg>
`;
}
