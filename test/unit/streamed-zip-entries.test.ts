/**
 * Workbooks written by a streaming zip writer (exceljs's WorkbookWriter, our generator) keep each
 * entry's sizes in a data descriptor after its data. exceljs's own unzipper finds such an entry's
 * end by scanning for the descriptor signature PK\x07\x08, which compressed data can contain by
 * chance; this generated workbook (100,000 rows, seed 1) has two such chance hits inside its sheet.
 * Both readers now take sizes from the zip directory instead; this keeps it that way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';

jest.setTimeout(120_000);

test('an entry whose compressed data contains the descriptor signature is read whole', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamed-zip-'));
  try {
    const filePath = path.join(dir, 'generated.xlsx');
    const expected = await generateWorkbook({ outPath: filePath, rows: 100_000, seed: 1 });

    // The trap is really there: a descriptor signature before the last entry's data ends.
    const bytes = fs.readFileSync(filePath);
    const signatures: number[] = [];
    for (let at = bytes.indexOf('PK\x07\x08'); at >= 0; at = bytes.indexOf('PK\x07\x08', at + 1)) signatures.push(at);
    const sheetStart = bytes.indexOf('xl/worksheets/sheet1.xml');
    const sheetSignatures = signatures.filter((at) => at > sheetStart);
    expect(sheetSignatures.length).toBeGreaterThan(1);

    for (const reader of ['fast', 'exceljs'] as const) {
      const preview = await previewWorkbook({ filePath, displayName: 'generated.xlsx', reader });
      expect(preview.report.rowsRead).toBe(expected.rowsRead);
      expect(preview.report.rowsKept).toBe(expected.rowsKept);
      expect(preview.customers).toBe(expected.customers);
      expect(preview.low).toBe(expected.low);
      expect(preview.high).toBe(expected.high);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
