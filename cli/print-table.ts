/** A plain aligned text table; enough for a terminal, no dependency needed. */
export function printTable(rows: Array<Record<string, string | number>>, write = (line: string) => console.log(line)): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const cell = (value: string | number) => (typeof value === 'number' ? value.toLocaleString('en-US') : value);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  // Numbers, and decimals given as text (money), line up on the right.
  const rightAligned = columns.map((column) => rows.every((row) => typeof row[column] === 'number' || DECIMAL_TEXT.test(String(row[column]))));
  const line = (values: string[]) => values.map((value, i) => (rightAligned[i] ? value.padStart(widths[i]) : value.padEnd(widths[i]))).join('  ');
  write(line(columns));
  write(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) write(line(columns.map((column) => cell(row[column]))));
}

const DECIMAL_TEXT = /^-?\d{1,3}(,\d{3})*(\.\d+)?$/;

/** Exact decimal text with thousands separators, e.g. "8911407.90" → "8,911,407.90" (no rounding through a double). */
export function groupedDecimal(text: string): string {
  const [whole, fraction] = text.split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const digits = whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${digits}${fraction === undefined ? '' : `.${fraction}`}`;
}
