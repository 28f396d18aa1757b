/**
 * The fast reader and exceljs must see the same cells, in all eight transaction columns: on
 * generated dirty workbooks and on workbooks other writers made (test/fixtures/workbooks, written
 * by make-fixtures.py with openpyxl, XlsxWriter and pandas). On the real UCI workbook, which takes
 * exceljs most of a minute, in test/real-data/readers-agree.test.ts.
 * Where exceljs is known to misread a cell, the difference is listed with the reason, and the
 * fast reader is held to what the writer meant (expected-rows.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { readTransactionRows } from '../../lib/workbook/read-transaction-rows';
import { PROJECT_ROOT } from '../../lib/config';
import { compareReaders } from '../support/compare-readers';
import { readAll, withoutDate } from './support/read-all';
import { makeTempDir } from './support/write-workbook';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'workbooks');
const EXPECTED_ROWS = JSON.parse(readFileSync(join(FIXTURES, 'expected-rows.json'), 'utf8')) as Record<
  string,
  Array<{ sheet: string; rowNumber: number; invoiceNo: string | null; customerId: number | null; quantity: number | null; unitPrice: number | null }>
>;

/**
 * Cells exceljs 4.4 reads wrongly, by file, as "sheet!row:column": it keeps only the last run of
 * an inline rich string (each <t> replaces the text so far), and turns a formula whose cached
 * result is an error into a formula without a result (parseFloat('#N/A') is NaN).
 */
const EXCELJS_MISREADS: Record<string, Record<string, string>> = {
  'xlsxwriter-constant-memory.xlsx': {
    'Online Retail!6:InvoiceNo': 'inline rich text: exceljs keeps the last run, "80", of "C5363" + "80"',
    'Online Retail!6:Description': 'inline rich text: exceljs keeps the last run',
    'Online Retail!7:StockCode': 'a formula cached as #N/A: exceljs reads no result',
  },
};

describe('fast reader and exceljs read the same cells', () => {
  describe.each(Object.keys(EXPECTED_ROWS))('%s (from another writer)', (name) => {
    const filePath = join(FIXTURES, name);

    it('the fast reader decodes what the writer meant', async () => {
      const rows = [];
      for await (const batch of readTransactionRows({ filePath, displayName: name })) {
        rows.push(...batch.rows.map((row) => ({ sheet: batch.sheet, ...withoutDate(row) })));
      }
      expect(rows).toEqual(EXPECTED_ROWS[name]);
    });

    it('exceljs sees the same cells in all eight columns, but for its known misreads', async () => {
      const { rows, differences } = await compareReaders({ filePath, displayName: name });
      expect(rows).toBe(EXPECTED_ROWS[name].length);
      expect(Object.fromEntries(differences.map((difference) => [difference.at, difference]))).toEqual(
        Object.fromEntries(Object.keys(EXCELJS_MISREADS[name] ?? {}).map((at) => [at, expect.objectContaining({ at })])),
      );
    });
  });

  describe('generated dirty workbooks', () => {
    const { dir, cleanup } = makeTempDir('reader-equivalence');
    afterAll(cleanup);

    it('20,000 rows written by exceljs, every kind of dirt, across two sheets', async () => {
      const filePath = join(dir, 'dirty.xlsx');
      const generated = await generateWorkbook({ outPath: filePath, rows: 20_000, seed: 11, rowsPerSheet: 12_000 });
      const { rows, differences } = await compareReaders({ filePath, displayName: 'dirty.xlsx' });
      expect(differences).toEqual([]);
      expect(rows).toBe(generated.rowsRead);
      expect(await readAll({ filePath, displayName: 'dirty.xlsx', reader: 'exceljs' })).toEqual(await readAll({ filePath, displayName: 'dirty.xlsx' }));
    });
  });
});
