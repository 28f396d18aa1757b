/** Writes small hand-made workbooks for reader tests: every cell exactly as the test spells it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS, { type CellValue } from 'exceljs';

export interface SheetSpec {
  name: string;
  /** Row i of the array is Excel row i + 1; an empty array leaves that row out of the file. */
  rows: CellValue[][];
}

export async function writeWorkbook(filePath: string, sheets: SheetSpec[]): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  for (const { name, rows } of sheets) {
    const worksheet = workbook.addWorksheet(name);
    rows.forEach((values, index) => {
      if (values.length > 0) worksheet.getRow(index + 1).values = values;
    });
  }
  await workbook.xlsx.writeFile(filePath);
  return filePath;
}

export const UCI_HEADER = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'];

/** A UCI-ordered data row; only the four decoded columns vary between tests. */
export function uciRow(invoiceNo: CellValue, quantity: CellValue, unitPrice: CellValue, customerId: CellValue): CellValue[] {
  return [invoiceNo, '85123A', 'WHITE HANGING HEART T-LIGHT HOLDER', quantity, new Date(Date.UTC(2010, 11, 1, 8, 26)), unitPrice, customerId, 'United Kingdom'];
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A temporary folder for one test file's hand-built packages, removed after the file's tests;
 * `save` writes one (named workbook-1.xlsx, workbook-2.xlsx... unless named) and returns its path.
 */
export function packageFolder(prefix: string): { save(bytes: Buffer, name?: string): string } {
  const { dir, cleanup } = makeTempDir(prefix);
  afterAll(cleanup);
  let files = 0;
  return {
    save(bytes, name = `workbook-${++files}.xlsx`) {
      const filePath = join(dir, name);
      writeFileSync(filePath, bytes);
      return filePath;
    },
  };
}
