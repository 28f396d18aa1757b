/**
 * Workbooks written by a streaming zip writer (exceljs's WorkbookWriter, our generator) keep each
 * entry's sizes in a data descriptor after its data. exceljs's own unzipper finds such an entry's
 * end by scanning for the descriptor signature PK\x07\x08, which compressed data can contain by
 * chance; this generated workbook (20,000 rows, seed 120, found by a search over seeds) has such a
 * chance hit inside its sheet's compressed data. Both readers now take sizes from the zip
 * directory instead; this keeps it that way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';

jest.setTimeout(120_000);

const DESCRIPTOR_SIGNATURE = Buffer.from('PK\x07\x08', 'latin1');

/** Where an entry's compressed data lies in the file, by the zip directory and the entry's local header. */
async function compressedDataOf(filePath: string, entryName: string): Promise<{ start: number; end: number }> {
  const zip = await yauzl.openPromise(filePath, { lazyEntries: true });
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== entryName) continue;
      const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
      return { start: fileDataStart, end: fileDataStart + entry.compressedSize };
    }
    throw new Error(`${entryName} is not in ${filePath}`);
  } finally {
    zip.close();
  }
}

test('an entry whose compressed data contains the descriptor signature is read whole', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamed-zip-'));
  try {
    const filePath = path.join(dir, 'generated.xlsx');
    const expected = await generateWorkbook({ outPath: filePath, rows: 20_000, seed: 120 });

    // The trap is really there: a descriptor signature inside the sheet's compressed data, before it ends.
    const bytes = fs.readFileSync(filePath);
    const sheet = await compressedDataOf(filePath, 'xl/worksheets/sheet1.xml');
    const inside: number[] = [];
    for (let at = bytes.indexOf(DESCRIPTOR_SIGNATURE, sheet.start); at >= 0 && at < sheet.end; at = bytes.indexOf(DESCRIPTOR_SIGNATURE, at + 1)) inside.push(at);
    expect(inside.length).toBeGreaterThan(0);

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
