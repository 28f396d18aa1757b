/**
 * Reads a workbook with the fast reader and exceljs in step, row by row, and lists the cells that
 * differ: test/unit/reader-equivalence.test.ts (small and generated workbooks) and
 * test/real-data/readers-agree.test.ts (the real UCI workbook) hold the two readers to the same cells.
 */
import type { PlainCellValue } from '../../lib/workbook/plain-cell-value';
import { readTransactionCells, type ReadTransactionRowsOptions, type TransactionCells } from '../../lib/workbook/read-transaction-rows';

export interface Difference {
  at: string;
  fast: unknown;
  exceljs: unknown;
}

export async function compareReaders(options: ReadTransactionRowsOptions): Promise<{ rows: number; differences: Difference[] }> {
  const fast = rowsOf({ ...options, reader: 'fast' });
  const exceljs = rowsOf({ ...options, reader: 'exceljs' });
  const differences: Difference[] = [];
  let rows = 0;
  for (;;) {
    const [a, b] = await Promise.all([fast.next(), exceljs.next()]);
    if (a.done || b.done) {
      if (!a.done || !b.done) differences.push({ at: `end after ${rows} rows`, fast: a.value, exceljs: b.value });
      break;
    }
    rows += 1;
    if (a.value.sheet !== b.value.sheet || a.value.row.rowNumber !== b.value.row.rowNumber) {
      differences.push({ at: `row ${rows}`, fast: `${a.value.sheet}!${a.value.row.rowNumber}`, exceljs: `${b.value.sheet}!${b.value.row.rowNumber}` });
      break;
    }
    for (const [column, value] of Object.entries(a.value.row.cells)) {
      const other = b.value.row.cells[column as keyof TransactionCells['cells']];
      if (!sameCell(value, other)) differences.push({ at: `${a.value.sheet}!${a.value.row.rowNumber}:${column}`, fast: value, exceljs: other });
    }
  }
  await Promise.all([fast.return(undefined), exceljs.return(undefined)]);
  return { rows, differences };
}

async function* rowsOf(options: ReadTransactionRowsOptions): AsyncGenerator<{ sheet: string; row: TransactionCells }> {
  for await (const { sheet, rows } of readTransactionCells(options)) for (const row of rows) yield { sheet, row };
}

function sameCell(a: PlainCellValue, b: PlainCellValue): boolean {
  if (Object.is(a, b)) return true;
  return typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b);
}
