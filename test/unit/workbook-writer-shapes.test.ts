/**
 * Shapes of workbook that other writers produce and calamine reads (its own test corpus has each),
 * plus corner cases of the fast reader's grammar, built byte by byte (support/build-xlsx). Where
 * exceljs can read the shape, both readers must see the same cells; where it cannot, the test
 * says so and holds the fast reader alone to what the writer meant.
 */
import type { PlainCellValue } from '../../lib/workbook/plain-cell-value';
import { readTransactionCells, type WorkbookReaderKind } from '../../lib/workbook/read-transaction-rows';
import { buildXlsx, buildZip, inline, num, row, shared, worksheetXml, type XlsxSpec } from './support/build-xlsx';
import { readAll, readError } from './support/read-all';
import { packageFolder, UCI_HEADER } from './support/write-workbook';

const folder = packageFolder('writer-shapes');
const save = (spec: XlsxSpec): string => folder.save(buildXlsx(spec));

/** Shared strings 0-7 are the UCI header. */
const SHARED = [...UCI_HEADER, 'C536379', 'United Kingdom', 'WHITE HANGING HEART T-LIGHT HOLDER'];
const HEADER = row(1, ...UCI_HEADER.map((_, i) => shared(String.fromCharCode(65 + i), 1, i)));
const PURCHASES = [
  HEADER,
  row(2, num('A', 2, 536365), shared('C', 2, 10), num('D', 2, 6), num('F', 2, 2.55), num('G', 2, 17850), shared('H', 2, 9)),
  row(3, shared('A', 3, 8), inline('C', 3, 'HAND WARMER'), num('D', 3, -1), num('F', 3, 27.5), num('G', 3, 14527), shared('H', 3, 9)),
];
const EXPECTED = [
  { rowNumber: 2, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 },
  { rowNumber: 3, invoiceNo: 'C536379', customerId: 14527, quantity: -1, unitPrice: 27.5 },
];

/** Every cell of every transaction row (all eight columns), as a reader sees them. */
async function cellsOf(filePath: string, reader: WorkbookReaderKind): Promise<Array<{ sheet: string; rowNumber: number; cells: Record<string, PlainCellValue> }>> {
  const rows = [];
  for await (const batch of readTransactionCells({ filePath, displayName: 'shape.xlsx', reader })) {
    rows.push(...batch.rows.map((transaction) => ({ sheet: batch.sheet, rowNumber: transaction.rowNumber, cells: { ...transaction.cells } })));
  }
  return rows;
}

async function expectReadersAgree(filePath: string): Promise<void> {
  expect(await cellsOf(filePath, 'exceljs')).toEqual(await cellsOf(filePath, 'fast'));
}

describe.each<WorkbookReaderKind>(['fast', 'exceljs'])('shapes other writers write (reader %s)', (reader) => {
  it('namespace-prefixed parts, <x:worksheet> / <x:c>, as the .NET Open XML SDK writes them', async () => {
    const filePath = save({ sheets: [{ name: 'Online Retail', rows: PURCHASES }], sharedStrings: SHARED, namespacePrefix: 'x' });
    expect(await readAll({ filePath, displayName: 'open-xml-sdk.xlsx', reader })).toEqual(EXPECTED);
  });

  it('parts outside xl/, found through _rels/.rels and the workbook part’s relationships (relative and absolute targets)', async () => {
    const filePath = save({
      workbookPath: 'book/main.xml',
      sheets: [
        { name: 'First', rows: PURCHASES, target: 'sheets/first.xml' },
        { name: 'Second', rows: [HEADER, row(2, num('A', 2, 536366), num('D', 2, 2), num('F', 2, 1.5), num('G', 2, 17851))], target: '/data/second.xml' },
      ],
      sharedStrings: SHARED,
    });
    expect(await readAll({ filePath, displayName: 'elsewhere.xlsx', reader })).toEqual([
      ...EXPECTED,
      { rowNumber: 2, invoiceNo: '536366', customerId: 17851, quantity: 2, unitPrice: 1.5 },
    ]);
  });

  it('a Word document is still no workbook, though its package has _rels/.rels too', async () => {
    const rootRels =
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" ' +
      'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>';
    const docx = buildZip([
      { path: '_rels/.rels', data: rootRels },
      { path: 'word/document.xml', data: '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/></w:document>' },
    ]);
    const filePath = folder.save(docx, 'letter.xlsx');
    const error = await readError({ filePath, displayName: 'letter.xlsx', reader });
    expect(error.message).toMatch(/is a zip file but not an xlsx workbook \(its main part word\/document\.xml is not a workbook\)/);
  });

  it('a shared-string cell with an empty value (<v/>, <v></v>) is an empty cell', async () => {
    const rows = [HEADER, row(2, num('A', 2, 536365), '<c r="C2" t="s"><v/></c>', num('D', 2, 6), num('F', 2, 2.55), num('G', 2, 17850), '<c r="H2" t="s"><v></v></c>')];
    const filePath = save({ sheets: [{ name: 'S', rows }], sharedStrings: SHARED });
    const [cells] = await cellsOf(filePath, reader);
    expect(cells.cells).toMatchObject({ InvoiceNo: 536365, Description: null, Country: null });
  });

  it('<si> and <t> tags with any XML white space after their name (tab, CR, LF) keep every index and all the text', async () => {
    const items = [
      ...UCI_HEADER,
      '<si\n><t>C536379</t></si>', // 8
      '<si\t><t\nxml:space="preserve"> United Kingdom </t></si>', // 9
      '<si\r\n><r><t\txml:space="preserve">WHITE HANGING </t></r><r><t\r\n>HEART</t></r></si>', // 10
    ];
    const filePath = save({ sheets: [{ name: 'S', rows: PURCHASES }], sharedStrings: items });
    expect(await readAll({ filePath, displayName: 'white-space.xlsx', reader })).toEqual(EXPECTED);
    const cells = await cellsOf(filePath, reader);
    expect(cells.map((transaction) => [transaction.cells.Description, transaction.cells.Country])).toEqual([
      ['WHITE HANGING HEART', 'United Kingdom'],
      ['HAND WARMER', 'United Kingdom'],
    ]);
  });
});

describe('both readers see the same cells in these shapes', () => {
  it('namespace-prefixed parts', async () => {
    await expectReadersAgree(save({ sheets: [{ name: 'Online Retail', rows: PURCHASES }], sharedStrings: SHARED, namespacePrefix: 'x' }));
  });

  it('parts outside xl/', async () => {
    await expectReadersAgree(save({ workbookPath: 'book/main.xml', sheets: [{ name: 'First', rows: PURCHASES, target: '../elsewhere/first.xml' }], sharedStrings: SHARED }));
  });

  it('white space after <si and <t', async () => {
    const items = [...UCI_HEADER, '<si\n><t>C536379</t></si>', '<si\t><t\nxml:space="preserve">United Kingdom</t></si>', '<si\r\n><t\r\n>HEART</t></si>'];
    await expectReadersAgree(save({ sheets: [{ name: 'S', rows: PURCHASES }], sharedStrings: items }));
  });
});

describe('row numbers that do not increase (fast reader; exceljs reads such a sheet without complaint)', () => {
  it.each([
    ['go backwards', [2, 3, 2], 2, 3],
    ['repeat', [2, 3, 3], 3, 3],
  ])('rows that %s are refused, naming file, sheet and row', async (_, numbers, refused, after) => {
    const rows = [HEADER, ...numbers.map((n) => row(n, num('A', n, 536365 + n), num('D', n, 1), num('F', n, 1), num('G', n, 17850)))];
    const error = await readError({ filePath: save({ sheets: [{ name: 'Online Retail', rows }], sharedStrings: SHARED }), displayName: 'uploads/rows.xlsx' });
    expect(error.name).toBe('InvalidWorkbookError');
    expect(error.location).toEqual({ file: 'uploads/rows.xlsx', sheet: 'Online Retail', row: refused });
    expect(error.message).toContain(`has row ${refused} after row ${after}: row numbers must increase`);
  });

  it('rows without a number still count on from the one before', async () => {
    const xml = worksheetXml([HEADER, row(2, num('A', 2, 536365), num('D', 2, 6), num('F', 2, 2.55), num('G', 2, 17850)), '<row><c><v>536366</v></c><c/><c/><c><v>2</v></c><c/><c><v>1.5</v></c><c><v>17851</v></c></row>']);
    expect((await readAll({ filePath: save({ sheets: [{ name: 'S', xml }], sharedStrings: SHARED }), displayName: 'implicit.xlsx' })).map((r) => r.rowNumber)).toEqual([2, 3]);
  });
});
