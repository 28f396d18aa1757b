/**
 * Files built to hurt a reader, or just broken. Each must be refused quickly, in little memory,
 * with an InvalidWorkbookError (non-retryable) that says what is wrong, and never show the
 * worker's path.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import type { InvalidWorkbookError } from '../../lib/errors';
import { DEFAULT_WORKBOOK_LIMITS, type WorkbookLimits, type WorkbookReaderKind } from '../../lib/workbook/read-transaction-rows';
import { buildXlsx, buildZip, columnLetter, headerRow, inline, num, row, worksheetXml } from './support/build-xlsx';
import { readInChild, stopReaderChild } from './support/read-in-child';
import { makeTempDir, UCI_HEADER } from './support/write-workbook';

const { dir, cleanup } = makeTempDir('hostile-workbooks');
afterAll(() => {
  stopReaderChild();
  cleanup();
});

const MiB = 1024 * 1024;
/** A reader that inflated a bomb would take minutes; a busy 2-core machine took 3.9 s for three million strings, hence the margin. */
const MAX_SECONDS = 15;
const MAX_PEAK_RSS_GROWTH = 150 * MiB;

let files = 0;
function save(bytes: Buffer | string): string {
  const filePath = join(dir, `hostile-${++files}.xlsx`);
  writeFileSync(filePath, bytes);
  return filePath;
}

/**
 * Reads the file in a child process (support/read-in-child.ts), so the memory measured is the
 * reader's alone: under --runInBand this process's peak is that of every test file before.
 */
async function expectRefused(
  filePath: string,
  problem: RegExp,
  options: { reader?: WorkbookReaderKind; limits?: Partial<WorkbookLimits> } = {},
): Promise<Pick<InvalidWorkbookError, 'name' | 'message' | 'location'>> {
  const { error, seconds, peakGrowthBytes, peakReset } = await readInChild({ filePath, displayName: 'uploads/hostile.xlsx', ...options });
  // On Linux the child resets its peak mark before each read: the growth is this read's alone.
  if (process.platform === 'linux') expect(peakReset).toBe(true);
  expect(seconds).toBeLessThan(MAX_SECONDS);
  expect(peakGrowthBytes).toBeLessThan(MAX_PEAK_RSS_GROWTH);
  expect(error).toMatchObject({ name: 'InvalidWorkbookError', location: { file: 'uploads/hostile.xlsx' } });
  expect(error!.message).toMatch(problem);
  expect(error!.message).not.toContain(dir);
  return error as Pick<InvalidWorkbookError, 'name' | 'message' | 'location'>;
}

const HEADER = headerRow(1, UCI_HEADER);
const PURCHASE = row(2, num('A', 2, 536365), num('D', 2, 6), num('F', 2, 2.55), num('G', 2, 17850));

/**
 * Raw deflate data for a worksheet that opens its sheetData and then goes on with `bytes` of
 * spaces, without being that big: pieces flushed to byte boundaries can be repeated.
 */
function deflatedSheetBomb(bytes: number): Buffer {
  const pieceSize = 8 * MiB;
  const flushed = { finishFlush: constants.Z_FULL_FLUSH };
  const start = deflateRawSync('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>', flushed);
  const piece = deflateRawSync(Buffer.alloc(pieceSize, 0x20), flushed);
  return Buffer.concat([start, ...Array.from({ length: Math.ceil(bytes / pieceSize) }, () => piece), deflateRawSync(Buffer.alloc(0))]);
}

/** A workbook whose only sheet is `sheet` (compressed bytes), declared as `declaredSize`. */
function workbookWithSheet(sheet: { compressed: Buffer; declaredSize: number }): Buffer {
  const workbook =
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
    '<sheets><sheet name="Online Retail" sheetId="1" r:id="rId1"/></sheets></workbook>';
  const rels =
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>';
  return buildZip([
    { path: 'xl/workbook.xml', data: workbook },
    { path: 'xl/_rels/workbook.xml.rels', data: rels },
    { path: 'xl/worksheets/sheet1.xml', data: '', compressed: sheet.compressed, declaredSize: sheet.declaredSize },
  ]);
}

const BILLION_LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
  ']>';
const EXTERNAL_ENTITY = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>';

describe.each<WorkbookReaderKind>(['fast', 'exceljs'])('hostile and broken workbooks (reader %s)', (reader) => {
  describe('zip bombs', () => {
    const threeGigabytes = 3 * 1024 ** 3;
    let bomb: Buffer;
    beforeAll(() => {
      bomb = deflatedSheetBomb(threeGigabytes); // 3 GiB of spaces in about 3 MiB
    });

    it('a sheet that inflates to gigabytes, declared honestly: refused before inflating', async () => {
      const filePath = save(workbookWithSheet({ compressed: bomb, declaredSize: threeGigabytes }));
      await expectRefused(filePath, /would inflate \d+ times its compressed size \(3\.\d MiB to 3\.0 GiB\), above the limit of 200 \(maxCompressionRatio\)/, { reader });
      await expectRefused(filePath, /declares 3\.0 GiB, so its parts would inflate to more than 2\.0 GiB \(limit maxDecompressedBytes\)/, {
        reader,
        limits: { maxCompressionRatio: 100_000 },
      });
    });

    it('the same sheet with a directory that understates it: stopped at the declared size', async () => {
      const filePath = save(workbookWithSheet({ compressed: bomb, declaredSize: MiB }));
      await expectRefused(filePath, /inflates to more than the 1048576 bytes its zip directory declares/, { reader });
    });

    it('a small file with an extreme compression ratio', async () => {
      const sheet = worksheetXml([HEADER, PURCHASE, ' '.repeat(50 * MiB)]);
      const filePath = save(workbookWithSheet({ compressed: deflateRawSync(sheet, { level: 9 }), declaredSize: Buffer.byteLength(sheet) }));
      await expectRefused(filePath, /above the limit of 200 \(maxCompressionRatio\): a zip bomb/, { reader });
    });
  });

  it.each([
    ['the worksheet', () => buildXlsx({ sheets: [{ name: 'S', xml: BILLION_LAUGHS + worksheetXml([HEADER]).replace(/^<\?xml[^>]*>\n/, '') }] })],
    ['the shared strings', () => buildXlsxWithSharedStringsRel(`${BILLION_LAUGHS}<sst><si><t>&lol9;</t></si></sst>`)],
    ['xl/workbook.xml', () => buildXlsx({ sheets: [{ name: 'S', rows: [HEADER] }], parts: { 'xl/workbook.xml': `${BILLION_LAUGHS}<workbook><sheets><sheet name="&lol9;" r:id="rId1"/></sheets></workbook>` } })],
  ])('entity expansion (billion laughs) in %s: any DOCTYPE is refused', async (_, build) => {
    await expectRefused(save(build()), /DOCTYPE/, { reader });
  });

  it('an external entity (XXE) is refused with its DOCTYPE, never fetched', async () => {
    const xml = EXTERNAL_ENTITY + worksheetXml([HEADER, row(2, inline('A', 2, '&xxe;'))]).replace(/^<\?xml[^>]*>\n/, '');
    await expectRefused(save(buildXlsx({ sheets: [{ name: 'S', xml }] })), /DOCTYPE/, { reader });
  });

  it('an entity that was never declared', async () => {
    const xml = worksheetXml([HEADER, row(2, `<c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c>`, num('D', 2, 1), num('F', 2, 1), num('G', 2, 1))]);
    await expectRefused(save(buildXlsx({ sheets: [{ name: 'S', xml }] })), /entity/i, { reader });
  });

  it('a row of 16,384 columns', async () => {
    const cells = Array.from({ length: 16_384 }, (_, i) => num(columnLetter(i + 1), 2, i));
    const error = await expectRefused(save(buildXlsx({ sheets: [{ name: 'S', rows: [HEADER, row(2, ...cells)] }] })), /past the limit of 1024 columns \(maxColumns\)/, {
      reader,
    });
    expect(error.location).toMatchObject({ sheet: 'S', row: 2, column: 'AMK' });
  });

  it('more sheets than maxSheets (256), even all in one part: refused before any is read', async () => {
    const sheets = Array.from({ length: 5_000 }, (_, i) => ({ name: `S${i + 1}`, path: 'xl/worksheets/sheet1.xml', rows: [HEADER, PURCHASE] }));
    const error = await expectRefused(save(buildXlsx({ sheets })), /xl\/workbook\.xml lists more than 256 sheets \(limit maxSheets\)/, { reader });
    expect(error.location).toEqual({ file: 'uploads/hostile.xlsx' });
    const distinct = Array.from({ length: 257 }, (_, i) => ({ name: `S${i + 1}`, rows: [HEADER] }));
    await expectRefused(save(buildXlsx({ sheets: distinct })), /lists more than 256 sheets \(limit maxSheets\)/, { reader });
  });

  it('two sheets stored in the same part', async () => {
    const sheets = [
      { name: 'Online Retail', path: 'xl/worksheets/sheet1.xml', rows: [HEADER, PURCHASE] },
      { name: 'Copy', path: 'xl/worksheets/Sheet1.xml', rows: [HEADER, PURCHASE] },
    ];
    const error = await expectRefused(save(buildXlsx({ sheets })), /is stored in xl\/worksheets\/Sheet1\.xml, which sheet "Online Retail" already uses/, { reader });
    expect(error.location).toEqual({ file: 'uploads/hostile.xlsx', sheet: 'Copy' });
  });

  it('a sheet cut short inside its compressed data', async () => {
    const sheet = worksheetXml([HEADER, ...Array.from({ length: 5_000 }, (_, i) => row(i + 2, num('A', i + 2, 536365 + i), num('D', i + 2, 6)))]);
    const compressed = deflateRawSync(sheet);
    const filePath = save(workbookWithSheet({ compressed: compressed.subarray(0, compressed.length >> 1), declaredSize: Buffer.byteLength(sheet) }));
    await expectRefused(filePath, /not a valid xlsx workbook: unexpected end of file|cut short/, { reader });
  });

  it('a password-protected workbook (an encrypted OLE container, not a zip)', async () => {
    const ole = Buffer.alloc(4096);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(ole, 0);
    ole.writeUInt16LE(9, 0x1e); // 512-byte sectors
    ole.writeUInt32LE(2, 0x30); // the directory is sector 2, at byte (2 + 1) * 512
    Buffer.from('EncryptedPackage', 'utf16le').copy(ole, 1536);
    await expectRefused(save(ole), /is a password-protected workbook/, { reader });
  });

  it('a zip64 archive', async () => {
    const sheet = { path: 'xl/workbook.xml', data: '<workbook/>' };
    await expectRefused(save(buildZip([sheet], { zip64Locator: true })), /zip64/, { reader });
    await expectRefused(save(buildZip([{ ...sheet, zip64ExtraField: true }])), /zip64/, { reader });
  });

  it('a PDF renamed .xlsx', async () => {
    await expectRefused(save('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n'), /is a PDF document, not an xlsx workbook/, { reader });
  });

  it('a directory named .xlsx', async () => {
    const folder = join(dir, 'folder.xlsx');
    mkdirSync(folder, { recursive: true });
    await expectRefused(folder, /is a directory, not a workbook/, { reader });
  });
});

describe('hostile workbooks only the fast reader bounds', () => {
  it('a 10 MB cell, inline or shared', async () => {
    const huge = randomBytes(7.5 * MiB).toString('base64'); // 10 MiB that does not compress (no ratio alarm)
    const inlineCell = row(2, `<c r="C2" t="inlineStr"><is><t>${huge}</t></is></c>`);
    const error = await expectRefused(save(buildXlsx({ sheets: [{ name: 'S', rows: [HEADER, inlineCell] }] })), /longer than 262144 bytes \(limit maxCellBytes\)/);
    expect(error.location).toMatchObject({ sheet: 'S', row: 2 });
    await expectRefused(save(buildXlsx({ sheets: [{ name: 'S', rows: [HEADER] }], sharedStrings: ['ok', huge] })), /shared string 1 is longer than 262144 bytes/);
  });

  it('millions of shared strings', async () => {
    const count = DEFAULT_WORKBOOK_LIMITS.maxSharedStrings + 100_000;
    const items = Array.from({ length: count }, (_, i) => `<si><t>${i.toString(36)}</t></si>`).join('');
    const sst = `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${items}</sst>`;
    await expectRefused(save(buildXlsxWithSharedStringsRel(sst)), new RegExp(`more than ${DEFAULT_WORKBOOK_LIMITS.maxSharedStrings} shared strings \\(limit maxSharedStrings\\)`));
  });

  it('three million shared strings: refused at the limit within 200 MiB of peak RSS, the table kept compact (child process)', async () => {
    const items = Array.from({ length: 3_000_000 }, (_, i) => `<si><t>${i.toString(36)}</t></si>`).join('');
    const filePath = save(buildXlsxWithSharedStringsRel(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${items}</sst>`));
    const { outcome, peakRssBytes, peakHeapBytes } = readInNewProcess(filePath);
    expect(outcome).toMatch(/more than 2000000 shared strings \(limit maxSharedStrings\)/);
    // A JS string per entry held 90 MiB of heap at two million and peaked at 211 MiB of RSS.
    expect(peakHeapBytes).toBeLessThan(48 * MiB);
    expect(peakRssBytes).toBeLessThan(200 * MiB);
  });

  it('the peak RSS the child reports is its own, not that of the process it was spawned from (a long Jest run holds hundreds of MiB)', () => {
    const filePath = save(buildXlsx({ sheets: [{ name: 'S', rows: [HEADER] }] }));
    const { outcome, peakRssBytes } = readInNewProcess(filePath, 320 * MiB);
    expect(outcome).toBe('read');
    expect(peakRssBytes).toBeLessThan(200 * MiB);
  });

  it('more rows than allowed, and a row numbered past Excel’s last', async () => {
    const rows = [HEADER, ...Array.from({ length: 20 }, (_, i) => row(i + 2, num('A', i + 2, 1), num('D', i + 2, 1), num('F', i + 2, 1), num('G', i + 2, 1)))];
    await expectRefused(save(buildXlsx({ sheets: [{ name: 'S', rows }] })), /more than 10 data rows \(limit maxRows\)/, { limits: { maxRows: 10 } });
    await expectRefused(save(buildXlsx({ sheets: [{ name: 'S', rows: [HEADER, row(1_048_577, num('A', 1_048_577, 1))] }] })), /row numbered 1048577, past Excel's last row/);
  });
});

/**
 * Reads the workbook in a new child process (support/read-workbook-peak.ts), for its peak from
 * the start (not the growth of one read), and returns what it printed; with `ballastBytes`, the child is spawned from a parent holding that much, as a Jest
 * process is after many tests.
 */
function readInNewProcess(filePath: string, ballastBytes = 0): { outcome: string; peakRssBytes: number; peakHeapBytes: number } {
  const args = ['--import', 'tsx', join(__dirname, 'support', 'read-workbook-peak.ts'), filePath];
  const spawnArgs =
    ballastBytes === 0
      ? args
      : ['-e', `const b = Buffer.alloc(${ballastBytes}, 1); process.stdout.write(require('node:child_process').spawnSync(process.execPath, ${JSON.stringify(args)}, { encoding: 'utf8' }).stdout); b[0] = 2;`];
  const child = spawnSync(process.execPath, spawnArgs, { encoding: 'utf8' });
  return JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
}

/** A one-sheet workbook whose shared-strings part is exactly `sst`. */
function buildXlsxWithSharedStringsRel(sst: string): Buffer {
  return buildXlsx({ sheets: [{ name: 'S', rows: [HEADER] }], sharedStrings: [], parts: { 'xl/sharedStrings.xml': sst } });
}
