import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { InvalidWorkbookError } from '../../lib/errors';
import { BATCH_ROWS, readTransactionRows, type ReadTransactionRowsOptions, type WorkbookReaderKind } from '../../lib/workbook/read-transaction-rows';
import { readAll as readAllRows, readError as readErrorOf } from './support/read-all';
import { makeTempDir, UCI_HEADER, uciRow, writeWorkbook } from './support/write-workbook';

const { dir, cleanup } = makeTempDir('read-transaction-rows');
afterAll(cleanup);

// Both readers must agree on everything below; the fast one is the default.
describe.each<WorkbookReaderKind>(['fast', 'exceljs'])('readTransactionRows (reader %s)', (reader) => {
  const readAll = (options: ReadTransactionRowsOptions) => readAllRows({ reader, ...options });
  const readError = (options: ReadTransactionRowsOptions) => readErrorOf({ reader, ...options });

  it('finds the header by name below a title, with columns reordered and an extra column', async () => {
    const filePath = await writeWorkbook(join(dir, 'shifted.xlsx'), [
      {
        name: 'Export',
        rows: [
          ['Online Retail — transactions 2010-2011'],
          [],
          ['Country', ' customerid ', 'UNITPRICE', 'Notes', 'InvoiceDate', 'Quantity', 'Description', 'StockCode', 'InvoiceNo'],
          ['United Kingdom', 17850, 2.55, 'gift', new Date(), 6, 'WHITE HANGING HEART T-LIGHT HOLDER', '85123A', 536365],
          ['France', 12680, 4.95, null, new Date(), 3, 'BAKING SET 9 PIECE RETROSPOT ', 22138, 'C581587'],
        ],
      },
    ]);
    expect(await readAll({ filePath, displayName: 'shifted.xlsx' })).toEqual([
      { rowNumber: 4, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 5, invoiceNo: 'C581587', customerId: 12680, quantity: 3, unitPrice: 4.95 },
    ]);
  });

  it('accepts numbers stored as text, formulas, rich text and stray spaces; empty cells are null', async () => {
    const filePath = await writeWorkbook(join(dir, 'text-numbers.xlsx'), [
      {
        name: 'Online Retail',
        rows: [
          UCI_HEADER,
          uciRow('536365', '6', '2.55', '17850'),
          uciRow(' 536366 ', ' 6 ', ' 2.55 ', ' 17850 '),
          uciRow(536367, '-12', '1e1', '17850.0'),
          uciRow({ formula: '536360+8', result: 536368 }, { formula: '2*3', result: 6 }, { formula: '1/2', result: 0.5 }, { formula: 'G2+0', result: 17850 }),
          uciRow({ richText: [{ text: 'C5363' }, { text: '69', font: { bold: true } }] }, { richText: [{ text: ' 4' }] }, 3.39, { richText: [{ text: '13047' }] }),
          uciRow(null, '   ', '', null),
        ],
      },
    ]);
    expect(await readAll({ filePath, displayName: 'text-numbers.xlsx' })).toEqual([
      { rowNumber: 2, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 3, invoiceNo: '536366', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 4, invoiceNo: '536367', customerId: 17850, quantity: -12, unitPrice: 10 },
      { rowNumber: 5, invoiceNo: '536368', customerId: 17850, quantity: 6, unitPrice: 0.5 },
      { rowNumber: 6, invoiceNo: 'C536369', customerId: 13047, quantity: 4, unitPrice: 3.39 },
      { rowNumber: 7, invoiceNo: null, customerId: null, quantity: null, unitPrice: null },
    ]);
  });

  it('skips rows with no values at all but keeps Excel row numbers', async () => {
    const filePath = await writeWorkbook(join(dir, 'gaps.xlsx'), [
      { name: 'Online Retail', rows: [UCI_HEADER, uciRow(1, 1, 1, 1), [], [], uciRow(2, 2, 2, 2)] },
    ]);
    expect((await readAll({ filePath, displayName: 'gaps.xlsx' })).map((row) => row.rowNumber)).toEqual([2, 5]);
  });

  it('names the file, sheet, header row and every missing column', async () => {
    const header = UCI_HEADER.filter((name) => name !== 'UnitPrice' && name !== 'Country');
    const filePath = await writeWorkbook(join(dir, 'missing-columns.xlsx'), [
      { name: 'Online Retail', rows: [['Export of 2011-12-09'], header, [536365, '85123A', 'HOLDER', 6, new Date(), 17850]] },
    ]);
    const error = await readError({ filePath, displayName: 'uploads/missing-columns.xlsx' });
    expect(error.location).toEqual({ file: 'uploads/missing-columns.xlsx', sheet: 'Online Retail', row: 2 });
    expect(error.message).toContain('file "uploads/missing-columns.xlsx", sheet "Online Retail", row 2');
    expect(error.message).toMatch(/lacks the columns UnitPrice, Country/);
    expect(error.message).not.toContain(dir);
  });

  it('says so when no row in the first 20 looks like the header', async () => {
    const filePath = await writeWorkbook(join(dir, 'no-header.xlsx'), [
      { name: 'Sheet1', rows: [...Array.from({ length: 21 }, (_, i) => [`note ${i}`]), UCI_HEADER] },
    ]);
    const error = await readError({ filePath, displayName: 'no-header.xlsx' });
    expect(error.location).toEqual({ file: 'no-header.xlsx', sheet: 'Sheet1' });
    expect(error.message).toMatch(/no header row with the columns InvoiceNo, StockCode, .* in the first 20 rows/);
  });

  it('rejects a header that names a column twice', async () => {
    const filePath = await writeWorkbook(join(dir, 'duplicate.xlsx'), [{ name: 'Online Retail', rows: [[...UCI_HEADER, 'quantity']] }]);
    const error = await readError({ filePath, displayName: 'duplicate.xlsx' });
    expect(error.location.row).toBe(1);
    expect(error.message).toMatch(/names Quantity more than once/);
  });

  it.each([
    ['Quantity', uciRow(536365, 'abc', 2.55, 17850), '"abc"', /expected a number/],
    ['UnitPrice', uciRow(536365, 6, '2,55', 17850), '"2,55"', /expected a number/],
    ['CustomerID', uciRow(536365, 6, 2.55, 'ABC12'), '"ABC12"', /expected a customer number/],
    ['CustomerID', uciRow(536365, 6, 2.55, 12.5), '"12.5"', /expected a customer number/],
    ['CustomerID', uciRow(536365, 6, 2.55, -3), '"-3"', /expected a customer number/],
    ['Quantity', uciRow(536365, true, 2.55, 17850), '"TRUE"', /expected a number/],
    ['InvoiceNo', uciRow({ error: '#N/A' }, 6, 2.55, 17850), 'the error value #N/A', /expected an invoice number/],
  ])('names the row and column of a bad %s and quotes the value', async (column, badRow, quoted, expected) => {
    const filePath = await writeWorkbook(join(dir, `bad-${column}.xlsx`), [
      { name: 'Online Retail', rows: [UCI_HEADER, uciRow(536365, 6, 2.55, 17850), uciRow(536365, 6, 2.55, 17850), badRow] },
    ]);
    const error = await readError({ filePath, displayName: `bad-${column}.xlsx` });
    expect(error.location).toEqual({ file: `bad-${column}.xlsx`, sheet: 'Online Retail', row: 4, column });
    expect(error.message).toContain(`row 4, column ${column}`);
    expect(error.message).toContain(`found ${quoted}`);
    expect(error.message).toMatch(expected);
  });

  it('cuts a long bad value short in the message', async () => {
    const filePath = await writeWorkbook(join(dir, 'long-value.xlsx'), [
      { name: 'Online Retail', rows: [UCI_HEADER, uciRow(536365, 'x'.repeat(500), 2.55, 17850)] },
    ]);
    const error = await readError({ filePath, displayName: 'long-value.xlsx' });
    expect(error.message).toContain(`found "${'x'.repeat(40)}…"`);
    expect(error.message.length).toBeLessThan(200);
  });

  it('reads the named sheet, or else every sheet with a transactions header, and lists the sheets when the name is unknown', async () => {
    const filePath = await writeWorkbook(join(dir, 'two-sheets.xlsx'), [
      { name: 'Read me', rows: [['This export has one sheet of transactions.']] },
      { name: 'Online Retail', rows: [UCI_HEADER, uciRow(536365, 6, 2.55, 17850)] },
    ]);
    expect(await readAll({ filePath, displayName: 'two-sheets.xlsx', sheet: 'Online Retail' })).toHaveLength(1);
    expect(await readAll({ filePath, displayName: 'two-sheets.xlsx', sheet: 'online retail' })).toHaveLength(1);

    const skipped: unknown[] = [];
    expect(await readAll({ filePath, displayName: 'two-sheets.xlsx', onSheetSkipped: (sheet) => skipped.push(sheet) })).toHaveLength(1);
    expect(skipped).toEqual([{ sheet: 'Read me', reason: expect.stringMatching(/^no header row with the columns InvoiceNo/) }]);

    const notTransactions = await readError({ filePath, displayName: 'two-sheets.xlsx', sheet: 'read me' });
    expect(notTransactions.location).toEqual({ file: 'two-sheets.xlsx', sheet: 'Read me' });

    const unknown = await readError({ filePath, displayName: 'two-sheets.xlsx', sheet: 'Transactions' });
    expect(unknown.location).toEqual({ file: 'two-sheets.xlsx', sheet: 'Transactions' });
    expect(unknown.message).toContain('no such sheet; the workbook has "Read me", "Online Retail"');
  });

  it('says why when no sheet has a transactions header', async () => {
    const filePath = await writeWorkbook(join(dir, 'no-transactions.xlsx'), [
      { name: 'Read me', rows: [['Nothing here.']] },
      { name: 'Totals', rows: [['Country', 'Quantity', 'UnitPrice'], ['France', 3, 4.95]] },
    ]);
    const error = await readError({ filePath, displayName: 'no-transactions.xlsx' });
    expect(error.location).toEqual({ file: 'no-transactions.xlsx' });
    expect(error.message).toMatch(/no sheet has a transactions header: "Read me" no header row .*; "Totals" row 1: the header row lacks the columns InvoiceNo, StockCode, Description, InvoiceDate, CustomerID/);
  });

  describe('files that are not a readable xlsx', () => {
    const source = join(dir, 'source.xlsx');
    beforeAll(async () => {
      const rows = [UCI_HEADER, ...Array.from({ length: 2000 }, (_, i) => uciRow(536365 + i, 6, 2.55, 17850))];
      await writeWorkbook(source, [{ name: 'Online Retail', rows }]);
    });

    function expectNamedFileError(error: InvalidWorkbookError, displayName: string, problem: RegExp): void {
      expect(error.location).toEqual({ file: displayName });
      expect(error.message).toMatch(problem);
      expect(error.message).not.toContain(dir);
    }

    it('random bytes', async () => {
      const filePath = join(dir, 'random.xlsx');
      writeFileSync(filePath, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)));
      expectNamedFileError(await readError({ filePath, displayName: 'random.xlsx' }), 'random.xlsx', /is not an xlsx workbook \(not a zip file\)/);
    });

    it('a CSV renamed .xlsx', async () => {
      const filePath = join(dir, 'renamed.xlsx');
      writeFileSync(filePath, `${UCI_HEADER.join(',')}\n536365,85123A,HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n`);
      expectNamedFileError(await readError({ filePath, displayName: 'renamed.xlsx' }), 'renamed.xlsx', /is a text file \(a CSV renamed \.xlsx\?\)/);
    });

    it('a truncated workbook', async () => {
      const filePath = join(dir, 'truncated.xlsx');
      writeFileSync(filePath, readFileSync(source).subarray(0, Math.floor(statSync(source).size / 2)));
      expectNamedFileError(await readError({ filePath, displayName: 'truncated.xlsx' }), 'truncated.xlsx', /not a valid xlsx workbook/);
    });

    it('an empty file, a folder, an .xls, and a zip that is not a workbook', async () => {
      writeFileSync(join(dir, 'empty.xlsx'), '');
      expectNamedFileError(await readError({ filePath: join(dir, 'empty.xlsx'), displayName: 'empty.xlsx' }), 'empty.xlsx', /is empty/);
      expectNamedFileError(await readError({ filePath: dir, displayName: 'data' }), 'data', /is a directory/);
      writeFileSync(join(dir, 'old.xlsx'), Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(600)]));
      expectNamedFileError(await readError({ filePath: join(dir, 'old.xlsx'), displayName: 'old.xlsx' }), 'old.xlsx', /is an Excel 97-2003 \(\.xls\) workbook/);
      writeFileSync(join(dir, 'other.zip'), storedZip('readme.txt', 'not a workbook'));
      expectNamedFileError(await readError({ filePath: join(dir, 'other.zip'), displayName: 'other.zip' }), 'other.zip', /zip file but not an xlsx/);
    });

    it('a missing file', async () => {
      const error = await readError({ filePath: join(dir, 'nowhere', 'online-retail.xlsx'), displayName: 'nowhere/online-retail.xlsx' });
      expectNamedFileError(error, 'nowhere/online-retail.xlsx', /not found/);
    });

    // A damaged deflate stream once left exceljs's unzipper waiting forever on the entry it was reading.
    it.each(['xl/worksheets/sheet1.xml', 'xl/sharedStrings.xml'])('damaged compressed data in %s fails instead of hanging', async (entryPath) => {
      const filePath = join(dir, `damaged-${entryPath.replace(/\W/g, '-')}.xlsx`);
      copyFileSync(source, filePath);
      await damageEntry(filePath, entryPath);
      expectNamedFileError(await readError({ filePath, displayName: 'damaged.xlsx' }), 'damaged.xlsx', /not a valid xlsx workbook: invalid block type/);
    }, 10_000);
  });

  it('reports bytes read as it goes, ending at the file size, in step with the rows', async () => {
    const rows = [UCI_HEADER, ...Array.from({ length: 30_000 }, (_, i) => uciRow(536365 + i, (i % 50) + 1, (i % 999) / 100 + 0.01, 12346 + (i % 4000)))];
    const filePath = await writeWorkbook(join(dir, 'progress.xlsx'), [{ name: 'Online Retail', rows }]);
    const { size } = statSync(filePath);
    const calls: Array<[number, number]> = [];
    let rowsWhenAllRead = 0;
    let rowCount = 0;
    let rowsAtHalf: number | undefined;
    for await (const { rows: batch } of readTransactionRows({
      filePath,
      displayName: 'progress.xlsx',
      reader,
      onBytesRead: (bytesRead, totalBytes) => {
        calls.push([bytesRead, totalBytes]);
        if (bytesRead >= totalBytes / 2) rowsAtHalf ??= rowCount;
        if (bytesRead === totalBytes) rowsWhenAllRead = rowCount;
      },
    })) {
      expect(batch.length).toBeLessThanOrEqual(BATCH_ROWS + 2_000);
      rowCount += batch.length;
    }
    expect(rowCount).toBe(30_000);
    expect(calls.at(-1)).toEqual([size, size]);
    expect(calls.every(([bytesRead, totalBytes], i) => totalBytes === size && (i === 0 || bytesRead > calls[i - 1][0]))).toBe(true);
    expect(calls.length).toBeLessThanOrEqual(Math.ceil(size / (64 * 1024)) + 1);
    // 100% comes with the last row, not before: the count follows the parser, not the file.
    expect(rowsWhenAllRead).toBe(30_000);
    expect(rowsAtHalf).toBeGreaterThan(8_000);
    expect(rowsAtHalf).toBeLessThan(22_000);
  });

  it('stops within 100 ms when aborted, rejecting with the signal\'s reason, and closes the file', async () => {
    const rows = [UCI_HEADER, ...Array.from({ length: 20_000 }, (_, i) => uciRow(536365 + i, 6, 2.55, 17850))];
    const filePath = await writeWorkbook(join(dir, `abort-${reader}.xlsx`), [{ name: 'Online Retail', rows }]);
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();

    const early = new AbortController();
    early.abort(new Error('cancelled before it began'));
    await expect(readAll({ filePath, displayName: 'abort.xlsx', signal: early.signal })).rejects.toThrow('cancelled before it began');

    const controller = new AbortController();
    const reason = new Error('run cancelled');
    const batches = readTransactionRows({ filePath, displayName: 'abort.xlsx', reader, signal: controller.signal })[Symbol.asyncIterator]();
    expect((await batches.next()).done).toBe(false);
    const pending = batches.next(); // aborted while this one is being read
    controller.abort(reason);
    const abortedAt = performance.now();
    await expect(pending).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(100);
    // The file is closed as the stream winds down: waited for (up to seconds on a busy machine), never a fixed pause.
    await until(() => openFiles() <= before);
    expect(openFiles()).toBeLessThanOrEqual(before);
  });

  it('closes the file when the caller stops early', async () => {
    const filePath = await writeWorkbook(join(dir, 'early-stop.xlsx'), [
      { name: 'Online Retail', rows: [UCI_HEADER, ...Array.from({ length: 5000 }, (_, i) => uciRow(536365 + i, 6, 2.55, 17850))] },
    ]);
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    for (let i = 0; i < 3; i++) {
      for await (const batch of readTransactionRows({ filePath, displayName: 'early-stop.xlsx', reader })) {
        if (batch.rows.length > 0) break;
      }
    }
    // The file is closed as the stream winds down: waited for (up to seconds on a busy machine), never a fixed pause.
    await until(() => openFiles() <= before);
    expect(openFiles()).toBeLessThanOrEqual(before);
  });
});

/** Makes an entry's deflate data start with a block of the reserved type 3, which zlib must reject. */
async function damageEntry(filePath: string, entryPath: string): Promise<void> {
  const zip = await yauzl.fromBufferPromise(readFileSync(filePath), { lazyEntries: true });
  let start: number | undefined;
  for await (const entry of zip.eachEntry()) if (entry.fileName === entryPath) start = entry.relativeOffsetOfLocalHeader;
  if (start === undefined) throw new Error(`${entryPath} not in the test workbook`);
  const file = await open(filePath, 'r+');
  try {
    const header = Buffer.alloc(30);
    await file.read(header, 0, 30, start);
    expect(header.readUInt16LE(8)).toBe(8); // deflated
    const dataStart = start + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    await file.write(Buffer.from([0x07]), 0, 1, dataStart);
  } finally {
    await file.close();
  }
}

/** A minimal one-entry zip (deflated), enough to be a valid zip that is not a workbook. */
function storedZip(name: string, text: string): Buffer {
  const data = deflateRawSync(Buffer.from(text));
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(text.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(text.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const centralStart = local.length + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(centralStart, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

/** Polls `condition` until it holds or 10 seconds have passed. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}
