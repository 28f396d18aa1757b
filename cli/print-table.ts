/** A plain aligned text table; enough for a terminal, no dependency needed. */
export function printTable(rows: Array<Record<string, string | number>>, write = (line: string) => console.log(line)): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const cell = (value: string | number) => (typeof value === 'number' ? value.toLocaleString('en-US') : value);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  const line = (values: string[]) =>
    values.map((value, i) => (typeof rows[0][columns[i]] === 'number' ? value.padStart(widths[i]) : value.padEnd(widths[i]))).join('  ');
  write(line(columns));
  write(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) write(line(columns.map((column) => cell(row[column]))));
}
