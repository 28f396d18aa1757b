/**
 * CSV exports (.csv, .csv.gz) read through readTransactionRows as a workbook of one sheet, "CSV":
 * the same header variants, decoded values, limits and typed errors as a workbook, with errors
 * naming the file's line. Small files are written by the tests into a temporary folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { inflatedBytesPerSheet } from '../../activities/run-limits';
import { InvalidWorkbookError } from '../../lib/errors';
import { resolveWorkbookPattern } from '../../lib/workbook-file-pattern';
import { CsvTokenizer } from '../../lib/workbook/csv-tokenizer';
import { decodeInvoiceDate } from '../../lib/workbook/decode-transaction-cell';
import type { PlainCellValue } from '../../lib/workbook/plain-cell-value';
import {
  BATCH_ROWS,
  CSV_SHEET_NAME,
  DEFAULT_WORKBOOK_LIMITS,
  listTransactionSheets,
  readTransactionRows,
  type ReadTransactionRowsOptions,
} from '../../lib/workbook/read-transaction-rows';
import { readAll, readAllWithDates, readError } from './support/read-all';
import { makeTempDir } from './support/write-workbook';

const { dir, cleanup } = makeTempDir('csv-transaction-rows');
afterAll(cleanup);

const UCI_HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const RETAIL_II_HEADER = 'Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country';

/** A UCI-ordered line; only the decoded columns vary. */
function uciLine(invoiceNo: string, quantity: string, unitPrice: string, customerId: string, invoiceDate = '2010-12-01 08:26:00', description = 'WHITE METAL LANTERN'): string {
  return [invoiceNo, '85123A', description, quantity, invoiceDate, unitPrice, customerId, 'United Kingdom'].join(',');
}

/** Writes `text` as `name` in the temp folder (gzipped if the name ends in .gz); returns read options for it. */
function csvFile(name: string, text: string | Buffer): ReadTransactionRowsOptions {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const filePath = join(dir, name);
  writeFileSync(filePath, name.endsWith('.gz') ? gzipSync(bytes) : bytes);
  return { filePath, displayName: `exports/${name}` };
}

describe('readTransactionRows on a CSV file', () => {
  it('reads the Online Retail header, quoted fields with commas, quotes and line breaks, and numbers rows by their line', async () => {
    const options = csvFile(
      'quoted.csv',
      [
        UCI_HEADER,
        uciLine('536365', '6', '2.55', '17850', undefined, '"AIRLINE LOUNGE,METAL SIGN"'),
        uciLine('536366', '8', '2.75', '17850', undefined, '"LETTER ""D"" BLING KEY RING"'),
        uciLine('536367', '2', '3.39', '13047', undefined, '"TWO\nLINE ""NAME"", IN QUOTES"'),
        uciLine('C536368', '-1', '4.95', '13047', undefined, '12" RULER'),
        uciLine('"536369"', '"3"', '"1.25"', '"12583"'),
        '',
      ].join('\n'),
    );
    expect(await readAll(options)).toEqual([
      { rowNumber: 2, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 3, invoiceNo: '536366', customerId: 17850, quantity: 8, unitPrice: 2.75 },
      { rowNumber: 4, invoiceNo: '536367', customerId: 13047, quantity: 2, unitPrice: 3.39 },
      { rowNumber: 6, invoiceNo: 'C536368', customerId: 13047, quantity: -1, unitPrice: 4.95 },
      { rowNumber: 7, invoiceNo: '536369', customerId: 12583, quantity: 3, unitPrice: 1.25 },
    ]);
  });

  it('reads the Online Retail II header and the UCI conversions\' month-first dates as the same date serials as ISO text', async () => {
    const options = csvFile(
      'online_retail_II.csv',
      [RETAIL_II_HEADER, 'C489449,22087,PAPER BUNTING WHITE LACE,-12,12/1/2009 10:33,2.95,16321.0,Australia', '489450,21123,X,1,12/9/2011 12:50,1.5,,Spain'].join('\n'),
    );
    const rows = await readAllWithDates(options);
    expect(rows).toEqual([
      { rowNumber: 2, invoiceNo: 'C489449', customerId: 16321, quantity: -12, unitPrice: 2.95, invoiceDate: decodeInvoiceDate('2009-12-01 10:33:00', false) },
      { rowNumber: 3, invoiceNo: '489450', customerId: null, quantity: 1, unitPrice: 1.5, invoiceDate: decodeInvoiceDate('2011-12-09 12:50', false) },
    ]);
  });

  it('tolerates a BOM, CRLF line ends, blank and empty lines, a title above the header, reordered and extra columns', async () => {
    const text =
      '\uFEFFOnline Retail export, 2011\r\n\r\n,,,\r\n' +
      'Country,customer id, UnitPrice ,Notes,InvoiceDate,Quantity,Description,StockCode,InvoiceNo\r\n' +
      'United Kingdom,17850,2.55,gift,2010-12-01 08:26,6,"A\r\nB",85123A,536365\r\n' +
      '\r\n' +
      'France,12680,4.95,,2011-12-09T12:50:00,3,X,22138, 581587 \r\n';
    expect(await readAll(csvFile('crlf.csv', text))).toEqual([
      { rowNumber: 5, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 8, invoiceNo: '581587', customerId: 12680, quantity: 3, unitPrice: 4.95 },
    ]);
  });

  it('reads a last line without a line break, and empty fields as no value', async () => {
    expect(await readAll(csvFile('no-final-newline.csv', `${UCI_HEADER}\n${uciLine('536365', '', ' ', '')}`))).toEqual([
      { rowNumber: 2, invoiceNo: '536365', customerId: null, quantity: null, unitPrice: null },
    ]);
  });

  it('gives the same rows for .csv and .csv.gz, and ignores the workbook reader kind', async () => {
    const lines = [UCI_HEADER];
    for (let index = 0; index < BATCH_ROWS + 10; index += 1) lines.push(uciLine(String(536365 + (index % 97)), String(index % 7), '1.25', String(12346 + (index % 50))));
    const text = lines.join('\n');
    const plain = await readAllWithDates(csvFile('many.csv', text));
    expect(plain).toHaveLength(BATCH_ROWS + 10);
    expect(await readAllWithDates(csvFile('many.csv.gz', text))).toEqual(plain);
    expect(await readAllWithDates({ ...csvFile('many.CSV', text), reader: 'exceljs' })).toEqual(plain);
  });

  it('is one sheet named "CSV": listed by the plan, accepted as `sheet` (any case), any other sheet refused', async () => {
    const options = csvFile('one-sheet.csv.gz', `${UCI_HEADER}\n${uciLine('1', '1', '1', '1')}`);
    expect(await listTransactionSheets(options)).toEqual({ sheets: [CSV_SHEET_NAME], skipped: [] });
    const batches = [];
    for await (const batch of readTransactionRows({ ...options, sheet: 'csv' })) batches.push(batch.sheet);
    expect(batches).toEqual([CSV_SHEET_NAME]);
    const error = await readError({ ...options, sheet: 'Online Retail' });
    expect(error.message).toBe(
      'file "exports/one-sheet.csv.gz": is a CSV file, whose rows are one sheet, "CSV": there is no sheet "Online Retail" (leave the sheet out, or name "CSV")',
    );
  });

  it('reports progress in bytes of the file, ending with its size', async () => {
    const lines = [UCI_HEADER];
    for (let index = 0; index < 20_000; index += 1) lines.push(uciLine(String(500000 + index), '1', '1', '12346'));
    const options = csvFile('progress.csv.gz', lines.join('\n'));
    const reports: Array<[number, number]> = [];
    await readAll({ ...options, onBytesRead: (read, total) => reports.push([read, total]) });
    const { size } = await import('node:fs').then((fs) => fs.statSync(options.filePath));
    expect(reports.at(-1)).toEqual([size, size]);
    expect(reports.map(([read]) => read)).toEqual([...reports.map(([read]) => read)].sort((a, b) => a - b));
  });

  it('refuses a line whose values run past the header: an unquoted comma has shifted its columns', async () => {
    // A decimal comma: "2,55" read unquoted would make 55 the CustomerID and the CustomerID the Country.
    const shifted = ['536365', '85123A', 'WHITE METAL LANTERN', '6', '2010-12-01 08:26:00', '2,55', '17850', 'United Kingdom'].join(',');
    const options = csvFile('shifted.csv', [UCI_HEADER, uciLine('536364', '1', '1.25', '12346'), shifted, ''].join('\n'));
    await expect(readAll(options)).rejects.toThrow('file "exports/shifted.csv", line 3: has a value in field 9 but the header has 8 fields (a comma inside a value must be quoted)');
    // A bare CR after a closing quote is not a line end: what follows it would be lost.
    const strayCr = csvFile('stray-cr.csv', [UCI_HEADER, `536365,85123A,"LANTERN"\rX,6,2010-12-01 08:26:00,2.55,17850,United Kingdom`, ''].join('\n'));
    await expect(readAll(strayCr)).rejects.toThrow('file "exports/stray-cr.csv", line 2: text follows the closing quote of a field');
    // A quoted last field before CRLF is a line end as ever.
    const crlf = csvFile('crlf-quoted.csv', [UCI_HEADER, `536365,85123A,LANTERN,6,2010-12-01 08:26:00,2.55,17850,"United Kingdom"`, ''].join('\r\n'));
    await expect(readAll(crlf)).resolves.toHaveLength(1);
    // Trailing empty fields are no values: taken.
    const trailing = csvFile('trailing.csv', [UCI_HEADER, `${uciLine('536364', '1', '1.25', '12346')},,`, ''].join('\n'));
    await expect(readAll(trailing)).resolves.toHaveLength(1);
  });

  describe('bad input fails with the file, the line and the column', () => {
    const badLine = (column: string, value: string) => {
      const values: Record<string, string> = { InvoiceNo: '536365', Quantity: '6', UnitPrice: '2.55', CustomerID: '17850', InvoiceDate: '2010-12-01 08:26:00' };
      values[column] = value;
      return uciLine(values.InvoiceNo, values.Quantity, values.UnitPrice, values.CustomerID, values.InvoiceDate);
    };
    it.each([
      ['UnitPrice', 'abc', 'expected a number, found "abc"'],
      ['Quantity', '0x1A', 'expected a number, found "0x1A"'],
      ['CustomerID', '17850.5', 'expected a customer number (a whole number from 0 to 4294967295), found "17850.5"'],
      ['InvoiceDate', '01.12.2010 08:26', 'expected a date (a date cell, or text such as 2011-12-09 12:50), found "01.12.2010 08:26"'],
      ['InvoiceDate', '2011-02-30 10:00', 'expected a date (a date cell, or text such as 2011-12-09 12:50), found "2011-02-30 10:00"'],
    ])('%s %j', async (column, value, expected) => {
      const name = `bad-${column}-${value.replace(/\W/g, '')}.csv`;
      const error = await readError(csvFile(name, [UCI_HEADER, badLine('UnitPrice', '1'), badLine('UnitPrice', '1'), badLine(column, value)].join('\n')));
      expect(error).toBeInstanceOf(InvalidWorkbookError);
      expect(error.location).toEqual({ file: `exports/${name}`, line: 4, column });
      expect(error.message).toBe(`file "exports/${name}", line 4, column ${column}: ${expected}`);
    });

    it('a header without a column names the line and the missing column', async () => {
      const error = await readError(csvFile('missing-column.csv', 'report\nInvoiceNo,Quantity,InvoiceDate,UnitPrice,Country\n1,1,2011-01-01,1,UK'));
      expect(error.message).toBe(
        'file "exports/missing-column.csv", line 2: the header row lacks the columns StockCode, Description, CustomerID (required: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country)',
      );
    });

    it('no header in the first 20 lines (a semicolon-separated file has none)', async () => {
      const error = await readError(csvFile('semicolons.csv', 'InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country\n1;2;3;4;5;6;7;8'));
      expect(error.message).toBe(
        'file "exports/semicolons.csv": no header row with the columns InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country in the first 20 lines',
      );
      const late = await readError(csvFile('late-header.csv', `${'title\n'.repeat(20)}${UCI_HEADER}\n${uciLine('1', '1', '1', '1')}`));
      expect(late.message).toMatch(/in the first 20 lines$/);
    });

    it('an unclosed quote, text after a closing quote, UTF-16 text', async () => {
      const unclosed = await readError(csvFile('unclosed.csv', `${UCI_HEADER}\n${uciLine('1', '1', '1', '1')}\n${uciLine('2', '1', '1', '1', undefined, '"NEVER CLOSED')}\n`));
      expect(unclosed.message).toBe('file "exports/unclosed.csv", line 3: a quoted field is never closed (a " is missing, or a quote inside it is not written twice)');
      const after = await readError(csvFile('after-quote.csv', `${UCI_HEADER}\n\n${uciLine('1', '1', '1', '1', undefined, '"A "B" C"')}`));
      expect(after.location).toEqual({ file: 'exports/after-quote.csv', line: 3 });
      expect(after.problem).toMatch(/^text follows the closing quote of a field/);
      const utf16 = await readError(csvFile('utf16.csv', Buffer.from(`\uFEFF${UCI_HEADER}\n`, 'utf16le')));
      expect(utf16.message).toBe('file "exports/utf16.csv": is UTF-16 text; save it as CSV UTF-8 (comma delimited)');
    });

    it('a .csv.gz that is not gzip, or is cut short', async () => {
      const notGzip = { filePath: join(dir, 'plain.csv.gz'), displayName: 'exports/plain.csv.gz' };
      writeFileSync(notGzip.filePath, `${UCI_HEADER}\n`);
      expect((await readError(notGzip)).message).toMatch(/^file "exports\/plain\.csv\.gz": is not a valid gzip file: /);
      const cut = { filePath: join(dir, 'cut.csv.gz'), displayName: 'exports/cut.csv.gz' };
      const whole = gzipSync(`${UCI_HEADER}\n${uciLine('1', '1', '1', '1').repeat(1)}\n`);
      writeFileSync(cut.filePath, whole.subarray(0, whole.length - 6));
      expect((await readError(cut)).message).toMatch(/^file "exports\/cut\.csv\.gz": is not a valid gzip file: /);
    });

    it('a missing file or a folder', async () => {
      expect((await readError({ filePath: join(dir, 'nothing.csv'), displayName: 'exports/nothing.csv' })).message).toBe('file "exports/nothing.csv": not found');
      mkdirSync(join(dir, 'folder.csv'));
      expect((await readError({ filePath: join(dir, 'folder.csv'), displayName: 'exports/folder.csv' })).message).toBe('file "exports/folder.csv": is a directory, not a CSV file');
    });
  });

  describe('limits', () => {
    it('maxRows', async () => {
      const options = csvFile('rows.csv', [UCI_HEADER, ...[1, 2, 3, 4].map((n) => uciLine(String(n), '1', '1', '1'))].join('\n'));
      const error = await readError({ ...options, limits: { maxRows: 3 } });
      expect(error.message).toBe('file "exports/rows.csv", line 5: has more than 3 data rows (limit maxRows)');
    });

    it('a line longer than maxCellBytes, in one piece or spread over many, and more fields than maxColumns', async () => {
      const options = csvFile('long-line.csv', `${UCI_HEADER}\n${uciLine('1', '1', '1', '1', undefined, 'X'.repeat(2000))}\n`);
      expect((await readError({ ...options, limits: { maxCellBytes: 1000 } })).message).toBe(
        'file "exports/long-line.csv", line 2: has a line (record) longer than 1000 bytes (limit maxCellBytes; an unclosed quote makes one too)',
      );
      const huge = csvFile('huge-line.csv.gz', `${UCI_HEADER}\n${uciLine('1', '1', '1', '1', undefined, `"${'X,'.repeat(2_000_000)}`)}\n`);
      expect((await readError(huge)).location).toEqual({ file: 'exports/huge-line.csv.gz', line: 2 });
      const wide = csvFile('wide.csv', `${UCI_HEADER}${',x'.repeat(20)}\n`);
      expect((await readError({ ...wide, limits: { maxColumns: 16 } })).message).toBe('file "exports/wide.csv", line 1: has more than 16 fields (limit maxColumns)');
    });

    it('a gzip bomb is refused as it inflates, by the reader and by the load plan', async () => {
      // 16 MiB of one line repeated gzips to about 16 KiB: a ratio near 1,000, far above 200.
      const line = `${uciLine('536365', '6', '2.55', '17850')}\n`;
      const bomb = { filePath: join(dir, 'bomb.csv.gz'), displayName: 'exports/bomb.csv.gz' };
      writeFileSync(bomb.filePath, gzipSync(Buffer.concat([Buffer.from(`${UCI_HEADER}\n`), Buffer.alloc(16 * 1024 * 1024, line)])));
      const error = await readError(bomb);
      expect(error.message).toMatch(/^file "exports\/bomb\.csv\.gz": inflates to more than 200 times its compressed size of [\d.]+ KiB \(limit maxCompressionRatio\): a gzip bomb, not an export$/);
      await expect(inflatedBytesPerSheet(bomb.filePath, bomb.displayName, [CSV_SHEET_NAME])).rejects.toThrow(error.message);
    });

    it('maxDecompressedBytes; the plan counts what a .csv.gz inflates to, a .csv its size', async () => {
      const text = [UCI_HEADER, ...Array.from({ length: 500 }, (_, n) => uciLine(String(n), '1', '1', '1'))].join('\n');
      const gz = csvFile('inflated.csv.gz', text);
      expect((await readError({ ...gz, limits: { maxDecompressedBytes: 10_000 } })).message).toBe(
        'file "exports/inflated.csv.gz": inflates to more than 9.8 KiB (limit maxDecompressedBytes)',
      );
      expect(await inflatedBytesPerSheet(gz.filePath, gz.displayName, [CSV_SHEET_NAME])).toEqual([Buffer.byteLength(text)]);
      const [counted] = await inflatedBytesPerSheet(gz.filePath, gz.displayName, [CSV_SHEET_NAME], undefined, 1000);
      expect(counted).toBeGreaterThan(1000);
      const plain = csvFile('inflated.csv', text);
      expect(await inflatedBytesPerSheet(plain.filePath, plain.displayName, [CSV_SHEET_NAME])).toEqual([Buffer.byteLength(text)]);
    });
  });

  it('stops on abort with the abort reason, before or while reading', async () => {
    const lines = [UCI_HEADER];
    for (let index = 0; index < 3 * BATCH_ROWS; index += 1) lines.push(uciLine(String(index), '1', '1', '1'));
    const options = csvFile('abort.csv.gz', lines.join('\n'));
    const before = new AbortController();
    before.abort(new Error('cancelled before'));
    await expect(readAll({ ...options, signal: before.signal })).rejects.toThrow('cancelled before');
    const during = new AbortController();
    let batches = 0;
    const reading = (async () => {
      for await (const _ of readTransactionRows({ ...options, signal: during.signal })) {
        batches += 1;
        during.abort(new Error('cancelled while reading'));
      }
    })();
    await expect(reading).rejects.toThrow('cancelled while reading');
    expect(batches).toBe(1);
  });

  it('a pattern or a {date} template finds .csv and .csv.gz exports', async () => {
    const exportsDir = join(dir, 'data', 'exports');
    mkdirSync(exportsDir, { recursive: true });
    writeFileSync(join(exportsDir, 'online-retail-2011-12-09.csv.gz'), gzipSync(UCI_HEADER));
    writeFileSync(join(exportsDir, 'online-retail-2011-12-09.csv'), UCI_HEADER);
    const dataDir = join(dir, 'data');
    expect(await resolveWorkbookPattern(dataDir, 'exports/online-retail-*.csv.gz')).toBe('exports/online-retail-2011-12-09.csv.gz');
    expect(await resolveWorkbookPattern(dataDir, 'exports/*.csv')).toBe('exports/online-retail-2011-12-09.csv');
  });
});

describe('CsvTokenizer', () => {
  /** Every record with content as [line, values...], feeding the bytes in pieces of `pieceBytes`. */
  function tokenize(text: string | Buffer, pieceBytes: number): Array<[number, ...PlainCellValue[]]> {
    const records: Array<[number, ...PlainCellValue[]]> = [];
    const tokenizer = new CsvTokenizer(DEFAULT_WORKBOOK_LIMITS, { file: 'x.csv' }, (line, cells) => records.push([line, ...cells.slice(1)]), {});
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    for (let at = 0; at < bytes.length; at += pieceBytes) tokenizer.write(bytes.subarray(at, at + pieceBytes));
    tokenizer.end();
    return records;
  }

  it('gives the same records whatever the pieces the bytes arrive in', () => {
    const text = '\uFEFFa,"b ""q"", c",d\r\n\r\n"multi\r\nline",,"x"\r\n"",last,"end"""';
    const expected = [
      [1, 'a', 'b "q", c', 'd'],
      [3, 'multi\r\nline', null, 'x'],
      [5, null, 'last', 'end"'],
    ];
    for (const pieceBytes of [1, 2, 3, 5, 7, 1024]) expect(tokenize(text, pieceBytes)).toEqual(expected);
  });

  it('builds only the wanted columns once told', () => {
    const control: { wanted?: Uint8Array } = {};
    const seen: PlainCellValue[][] = [];
    const tokenizer = new CsvTokenizer(DEFAULT_WORKBOOK_LIMITS, { file: 'x.csv' }, (_line, cells) => {
      seen.push([...cells]);
      control.wanted = Uint8Array.from([0, 0, 1]);
    }, control);
    tokenizer.write(Buffer.from('a,b,c\nd,e,f\n'));
    tokenizer.end();
    expect(seen).toEqual([
      [undefined, 'a', 'b', 'c'],
      [undefined, undefined, 'e'],
    ]);
  });

  it('an empty file has no records', () => {
    expect(tokenize('', 10)).toEqual([]);
    expect(tokenize('\uFEFF', 10)).toEqual([]);
  });
});
