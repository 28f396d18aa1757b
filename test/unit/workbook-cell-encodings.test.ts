/**
 * Every way a worksheet can store the same transaction, built byte by byte (support/build-xlsx),
 * read by both readers. What exceljs gets wrong is tested on the fast reader alone and listed in
 * reader-equivalence.test.ts.
 */
import { listTransactionSheets, readTransactionCells, type WorkbookReaderKind } from '../../lib/workbook/read-transaction-rows';
import { previewWorkbook } from '../../lib/workbook/preview-workbook';
import { CUSTOMER_ID_MAX, INVOICE_NO_MAX_LENGTH } from '../../lib/segmentation/business-keys';
import { buildXlsx, headerRow, inline, num, row, shared, worksheetXml, type XlsxSpec } from './support/build-xlsx';
import { readAll, readError } from './support/read-all';
import { packageFolder, UCI_HEADER } from './support/write-workbook';

const folder = packageFolder('cell-encodings');
const save = (spec: XlsxSpec): string => folder.save(buildXlsx(spec));

/** Shared strings 0-7 are the UCI header; the rest are used by the rows below. */
const SHARED = [
  ...UCI_HEADER,
  'WHITE HANGING HEART T-LIGHT HOLDER', // 8
  'United Kingdom', // 9
  ' 2.55 ', // 10: a price stored as shared text, padded
  '<si><r><t>C5363</t></r><r><rPr><b/></rPr><t>79</t></r><rPh sb="0" eb="1"><t>ignored</t></rPh></si>', // 11: rich text with a phonetic guide
  '<si><t xml:space="preserve">   </t></si>', // 12: blank
  '<si/>', // 13: empty
];
const HEADER = row(1, ...UCI_HEADER.map((_, i) => shared(String.fromCharCode(65 + i), 1, i)));

/** The same purchase (or a variation) in every encoding a worksheet allows. */
const EVERY_ENCODING = worksheetXml([
  HEADER,
  // numbers, shared strings
  row(2, num('A', 2, 536365), shared('B', 2, 8), shared('C', 2, 8), num('D', 2, 6), `<c r="E2" s="1"><v>40513.351388888885</v></c>`, num('F', 2, 2.55), num('G', 2, 17850), shared('H', 2, 9)),
  // inline strings, numbers stored as text (padded), a float customer number as text, a date as text
  row(3, inline('A', 3, '536366'), inline('C', 3, 'HAND WARMER'), inline('D', 3, ' 6 '), inline('E', 3, '2010-12-01 08:28'), shared('F', 3, 10), inline('G', 3, '17850.0'), shared('H', 3, 9)),
  // rich text from the shared strings, a negative quantity, a float customer number
  row(4, shared('A', 4, 11), num('D', 4, -1), num('F', 4, 27.5), num('G', 4, '14527.0'), shared('H', 4, 9)),
  // formulas with cached values: string, number, shared formula; an error value in a column nobody decodes; a boolean
  row(
    5,
    `<c r="A5" t="str"><f>"5363"&amp;"70"</f><v>536370</v></c>`,
    `<c r="B5" t="e"><v>#REF!</v></c>`,
    `<c r="D5"><f>2*3</f><v>6</v></c>`,
    `<c r="F5"><f t="shared" ref="F5:F6" si="0">1.25*1</f><v>1.25</v></c>`,
    `<c r="G5"><f>G2</f><v>17850</v></c>`,
    `<c r="H5" t="b"><v>1</v></c>`,
  ),
  // entities, character references, an OOXML escape and CDATA in inline text; exponent notation
  row(
    6,
    inline('A', 6, 'A-536371'),
    `<c r="C6" t="inlineStr"><is><t>&lt;GIFT&gt; &amp; &#169;&#x263A;_x0041_<![CDATA[ <raw> ]]></t></is></c>`,
    num('D', 6, '1.2E1'),
    `<c r="F6"><f t="shared" si="0"/><v>0.85</v></c>`,
    num('G', 6, 12680),
  ),
  // a row of formatted empty cells, a self-closing row, blank text: no values, so no row
  row(7, `<c r="A7" s="1"/>`, `<c r="B7" s="1"/>`),
  '<row r="8" spans="1:8"/>',
  // blank and empty shared strings and blank inline text count as empty cells
  row(9, num('A', 9, 536372), shared('C', 9, 12), shared('E', 9, 13), inline('G', 9, '   '), num('D', 9, 1), num('F', 9, 1)),
]);

describe.each<WorkbookReaderKind>(['fast', 'exceljs'])('cell encodings (reader %s)', (reader) => {
  it('decodes every standard encoding of the four columns the pipeline reads', async () => {
    const filePath = save({ sheets: [{ name: 'Online Retail', xml: EVERY_ENCODING }], sharedStrings: SHARED });
    expect(await readAll({ filePath, displayName: 'encodings.xlsx', reader })).toEqual([
      { rowNumber: 2, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 3, invoiceNo: '536366', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 4, invoiceNo: 'C536379', customerId: 14527, quantity: -1, unitPrice: 27.5 },
      { rowNumber: 5, invoiceNo: '536370', customerId: 17850, quantity: 6, unitPrice: 1.25 },
      { rowNumber: 6, invoiceNo: 'A-536371', customerId: 12680, quantity: 12, unitPrice: 0.85 },
      { rowNumber: 9, invoiceNo: '536372', customerId: null, quantity: 1, unitPrice: 1 },
    ]);
  });

  it('gives the other columns their plain values too: dates as serials or text, booleans, error values', async () => {
    const filePath = save({ sheets: [{ name: 'Online Retail', xml: EVERY_ENCODING }], sharedStrings: SHARED });
    const rows = [];
    for await (const batch of readTransactionCells({ filePath, displayName: 'encodings.xlsx', reader })) rows.push(...batch.rows);
    expect(rows[0].cells).toEqual({
      InvoiceNo: 536365,
      StockCode: 'WHITE HANGING HEART T-LIGHT HOLDER',
      Description: 'WHITE HANGING HEART T-LIGHT HOLDER',
      Quantity: 6,
      InvoiceDate: 40513.351388888885,
      UnitPrice: 2.55,
      CustomerID: 17850,
      Country: 'United Kingdom',
    });
    expect(rows[1].cells.InvoiceDate).toBe('2010-12-01 08:28');
    expect(rows[3].cells).toMatchObject({ StockCode: { unusable: 'the error value #REF!' }, Country: true });
    expect(rows[5].cells).toMatchObject({ Description: null, InvoiceDate: null, CustomerID: null });
  });

  it('reads parts in any order and entries with data descriptors', async () => {
    const rows = [HEADER, row(2, num('A', 2, 536365), num('D', 2, 6), num('F', 2, 2.55), num('G', 2, 17850))];
    const filePath = save({ sheets: [{ name: 'Online Retail', rows }], sharedStrings: SHARED, sheetsFirst: true, dataDescriptors: true });
    expect(await readAll({ filePath, displayName: 'streamed.xlsx', reader })).toEqual([{ rowNumber: 2, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 }]);
  });

  it('fails on an error value in a required column, naming row and column', async () => {
    const rows = [HEADER, row(2, num('A', 2, 536365), num('D', 2, 6), num('F', 2, 2.55), `<c r="G2" t="e"><v>#N/A</v></c>`)];
    const error = await readError({ filePath: save({ sheets: [{ name: 'Online Retail', rows }], sharedStrings: SHARED }), displayName: 'na.xlsx', reader });
    expect(error.location).toEqual({ file: 'na.xlsx', sheet: 'Online Retail', row: 2, column: 'CustomerID' });
    expect(error.message).toMatch(/expected a customer number .*, found the error value #N\/A$/);
  });

  it('refuses what does not fit the MySQL columns: a customer number past CUSTOMER_ID_MAX, an over-long invoice number', async () => {
    const tooBig = [HEADER, row(2, num('A', 2, 536365), num('D', 2, 6), num('F', 2, 2.55), num('G', 2, CUSTOMER_ID_MAX + 1))];
    const bigError = await readError({ filePath: save({ sheets: [{ name: 'Online Retail', rows: tooBig }], sharedStrings: SHARED }), displayName: 'big.xlsx', reader });
    expect(bigError.location).toEqual({ file: 'big.xlsx', sheet: 'Online Retail', row: 2, column: 'CustomerID' });
    expect(bigError.message).toContain(`from 0 to ${CUSTOMER_ID_MAX}), found "${CUSTOMER_ID_MAX + 1}"`);

    const longInvoice = 'X'.repeat(INVOICE_NO_MAX_LENGTH + 1);
    const tooLong = [HEADER, row(2, inline('A', 2, longInvoice), num('D', 2, 6), num('F', 2, 2.55), num('G', 2, 17850))];
    const longError = await readError({ filePath: save({ sheets: [{ name: 'Online Retail', rows: tooLong }], sharedStrings: SHARED }), displayName: 'long.xlsx', reader });
    expect(longError.location).toEqual({ file: 'long.xlsx', sheet: 'Online Retail', row: 2, column: 'InvoiceNo' });
    expect(longError.message).toMatch(new RegExp(`at most ${INVOICE_NO_MAX_LENGTH} characters`));

    const exactly = [HEADER, row(2, inline('A', 2, '€'.repeat(INVOICE_NO_MAX_LENGTH)), num('D', 2, 6), num('F', 2, 2.55), num('G', 2, CUSTOMER_ID_MAX))];
    expect(await readAll({ filePath: save({ sheets: [{ name: 'S', rows: exactly }], sharedStrings: SHARED }), displayName: 'max.xlsx', reader })).toEqual([
      { rowNumber: 2, invoiceNo: '€'.repeat(INVOICE_NO_MAX_LENGTH), customerId: CUSTOMER_ID_MAX, quantity: 6, unitPrice: 2.55 },
    ]);
  });

  describe('the Online Retail II shape (UCI dataset 502)', () => {
    const RETAIL_II = ['Invoice', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'Price', 'Customer ID', 'Country'];
    const yearRows = (firstInvoice: number) => [
      headerRow(1, RETAIL_II),
      row(2, num('A', 2, firstInvoice), num('D', 2, 12), num('F', 2, 6.95), num('G', 2, 13085)),
      row(3, num('A', 3, firstInvoice + 1), num('D', 3, 6), num('F', 3, 2.55), num('G', 3, 17850)),
    ];
    let filePath: string;
    beforeAll(() => {
      filePath = save({
        sheets: [
          { name: 'Year 2009-2010', rows: yearRows(489434) },
          { name: 'Notes', rows: [row(1, inline('A', 1, 'Customer ID is empty for guest orders.'))] },
          { name: 'Year 2010-2011', rows: yearRows(536365) },
        ],
      });
    });

    it('reads every sheet with a recognised header, in workbook order, and names the ones skipped', async () => {
      const rows = await readAll({ filePath, displayName: 'online_retail_II.xlsx', reader });
      expect(rows.map((transaction) => transaction.invoiceNo)).toEqual(['489434', '489435', '536365', '536366']);
      expect(await listTransactionSheets({ filePath, displayName: 'online_retail_II.xlsx', reader })).toEqual({
        sheets: ['Year 2009-2010', 'Year 2010-2011'],
        skipped: [{ sheet: 'Notes', reason: expect.stringMatching(/^no header row with the columns/) }],
      });
      const preview = await previewWorkbook({ filePath, displayName: 'online_retail_II.xlsx', reader });
      expect(preview).toMatchObject({ customers: 2, sheets: ['Year 2009-2010', 'Year 2010-2011'], skippedSheets: [{ sheet: 'Notes' }] });
    });

    it('narrows to one sheet when asked, and refuses a named sheet without a transactions header', async () => {
      const rows = await readAll({ filePath, displayName: 'online_retail_II.xlsx', reader, sheet: 'year 2010-2011' });
      expect(rows.map((transaction) => transaction.invoiceNo)).toEqual(['536365', '536366']);
      const error = await readError({ filePath, displayName: 'online_retail_II.xlsx', reader, sheet: 'Notes' });
      expect(error.location).toEqual({ file: 'online_retail_II.xlsx', sheet: 'Notes' });
    });
  });
});

describe('cell encodings exceljs does not read (fast reader)', () => {
  it('rows and cells without a reference count on from the previous one', async () => {
    const xml = worksheetXml([
      `<row>${UCI_HEADER.map((name) => `<c t="inlineStr"><is><t>${name}</t></is></c>`).join('')}</row>`,
      '<row><c><v>536365</v></c><c/><c/><c><v>6</v></c><c/><c><v>2.55</v></c><c><v>17850</v></c></row>',
      '<row r="5"><c r="A5"><v>536366</v></c><c r="D5"><v>2</v></c><c/><c><v>1.5</v></c><c><v>17850</v></c></row>',
    ]);
    expect(await readAll({ filePath: save({ sheets: [{ name: 'S', xml }] }), displayName: 'no-refs.xlsx' })).toEqual([
      { rowNumber: 2, invoiceNo: '536365', customerId: 17850, quantity: 6, unitPrice: 2.55 },
      { rowNumber: 5, invoiceNo: '536366', customerId: 17850, quantity: 2, unitPrice: 1.5 },
    ]);
  });

  it('inline rich text keeps all its runs; a formula cached as an error is that error; t="d" dates are dates', async () => {
    const xml = worksheetXml([
      headerRow(1, UCI_HEADER),
      row(
        2,
        `<c r="A2" t="inlineStr"><is><r><t>C5363</t></r><r><rPr><b/></rPr><t>80</t></r></is></c>`,
        `<c r="B2" t="e"><f>NA()</f><v>#N/A</v></c>`,
        num('D', 2, -2),
        `<c r="E2" t="d"><v>2010-12-01T08:26:00Z</v></c>`,
        num('F', 2, 2.1),
        num('G', 2, 16098),
      ),
    ]);
    const rows = [];
    for await (const batch of readTransactionCells({ filePath: save({ sheets: [{ name: 'S', xml }] }), displayName: 'rich.xlsx' })) rows.push(...batch.rows);
    expect(rows[0].cells).toMatchObject({ InvoiceNo: 'C536380', StockCode: { unusable: 'the error value #N/A' }, InvoiceDate: new Date('2010-12-01T08:26:00Z') });
  });
});
