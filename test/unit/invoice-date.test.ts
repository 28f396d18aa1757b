/**
 * InvoiceDate is the data's own date: the newest one among a run's kept rows orders publication
 * (an older export never replaces a newer one). Both readers must find it, in every encoding; the
 * real workbook's (2011-12-09 12:50) is checked in test/real-data/online-retail-figures.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidWorkbookError } from '../../lib/errors';
import { decodeInvoiceDate, isoOfSerial } from '../../lib/workbook/decode-transaction-cell';
import { generateWorkbook } from '../../lib/workbook/generate-workbook';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import { WORKBOOK_READER_KINDS } from '../../lib/workbook/workbook-source';
import { TRANSACTION_COLUMNS } from '../../lib/workbook/transaction-columns';
import { buildXlsx, headerRow, inline, num, row } from './support/build-xlsx';
import { readAllWithDates, readError } from './support/read-all';

const folder = mkdtempSync(join(tmpdir(), 'invoice-date-'));

describe('decodeInvoiceDate', () => {
  it('reads date serials, 1904 serials, dates and the text forms exports use', () => {
    expect(isoOfSerial(decodeInvoiceDate(40886.53472222222, false)!)).toBe('2011-12-09T12:50:00');
    expect(isoOfSerial(decodeInvoiceDate(40886.53472222222 - 1462, true)!)).toBe('2011-12-09T12:50:00');
    expect(isoOfSerial(decodeInvoiceDate(new Date(Date.UTC(2011, 11, 9, 12, 50)), false)!)).toBe('2011-12-09T12:50:00');
    expect(isoOfSerial(decodeInvoiceDate('2011-12-09 12:50:00', false)!)).toBe('2011-12-09T12:50:00');
    expect(isoOfSerial(decodeInvoiceDate('2011-12-09T12:50', false)!)).toBe('2011-12-09T12:50:00');
    expect(isoOfSerial(decodeInvoiceDate('12/9/2011 12:50', false)!)).toBe('2011-12-09T12:50:00');
    expect(isoOfSerial(decodeInvoiceDate('2011-12-09', false)!)).toBe('2011-12-09T00:00:00');
    expect(decodeInvoiceDate(null, false)).toBeNull();
  });

  it.each([['yesterday'], ['2011-02-30'], ['13/9/2011'], ['2011-12-09 25:00'], [-5], [3e6], [true]])('refuses %p', (value) => {
    expect(() => decodeInvoiceDate(value as never, false)).toThrow('expected a date');
  });
});

describe.each(WORKBOOK_READER_KINDS)('InvoiceDate (reader %s)', (reader) => {
  it('is decoded from numbers, inline text and a 1904 workbook alike', async () => {
    const rows = [
      headerRow(1, TRANSACTION_COLUMNS),
      row(2, num('A', 2, 536365), num('D', 2, 6), num('E', 2, 40513.35138888889), num('F', 2, 2.55), num('G', 2, 17850)),
      row(3, num('A', 3, 536366), num('D', 3, 6), inline('E', 3, '2011-12-09 12:50:00'), num('F', 3, 2.55), num('G', 3, 17850)),
    ];
    const plain = join(folder, `dates-${reader}.xlsx`);
    writeFileSync(plain, buildXlsx({ sheets: [{ name: 'Online Retail', rows }] }));
    const read = await readAllWithDates({ filePath: plain, displayName: 'dates.xlsx', reader });
    expect(read.map((r) => isoOfSerial(r.invoiceDate!))).toEqual(['2010-12-01T08:26:00', '2011-12-09T12:50:00']);

    // The same serial in a 1904 workbook is four years and a day later.
    const mac = join(folder, `dates-1904-${reader}.xlsx`);
    const workbook1904 =
      '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr date1904="1"/>' +
      '<sheets><sheet name="Online Retail" sheetId="1" r:id="rId1"/></sheets></workbook>';
    writeFileSync(mac, buildXlsx({ sheets: [{ name: 'Online Retail', rows }], parts: { 'xl/workbook.xml': workbook1904 } }));
    const read1904 = await readAllWithDates({ filePath: mac, displayName: 'dates-1904.xlsx', reader });
    expect(isoOfSerial(read1904[0].invoiceDate!)).toBe('2014-12-02T08:26:00');
  });

  it('refuses a cell that is no date, naming the file, sheet, row and column', async () => {
    const file = join(folder, `bad-date-${reader}.xlsx`);
    const rows = [headerRow(1, TRANSACTION_COLUMNS), row(2, num('A', 2, 536365), num('D', 2, 6), inline('E', 2, 'soon'), num('F', 2, 2.55), num('G', 2, 17850))];
    writeFileSync(file, buildXlsx({ sheets: [{ name: 'Online Retail', rows }] }));
    const error = await readError({ filePath: file, displayName: 'bad-date.xlsx', reader });
    expect(error).toBeInstanceOf(InvalidWorkbookError);
    expect(error.message).toBe('file "bad-date.xlsx", sheet "Online Retail", row 2, column InvoiceDate: expected a date (a date cell, or text such as 2011-12-09 12:50), found "soon"');
  });

  it("finds a generated export's newest kept invoice date", async () => {
    const file = join(folder, `generated-${reader}.xlsx`);
    const generated = await generateWorkbook({ outPath: file, rows: 3_000, seed: 7 });
    const rows = await readAllWithDates({ filePath: file, displayName: 'generated.xlsx', reader });
    const newest = Math.max(...rows.map((r) => r.invoiceDate ?? 0));
    expect(isoOfSerial(newest)).toEqual(expect.any(String));
    const preview = await previewWorkbook({ filePath: file, displayName: 'generated.xlsx', reader });
    expect(preview.report.newestInvoiceDate).toBe(generated.newestInvoiceDate);
  });
});
