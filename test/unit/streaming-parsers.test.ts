/**
 * The sheet tokenizer and the shared-strings parser see their part in whatever pieces zlib hands
 * them; a tag, a cell or a multi-byte character can be cut anywhere. Every split must read the same as the whole.
 */
import { NamespacePrefixStripper } from '../../lib/workbook/namespace-prefix';
import { SharedStringsParser } from '../../lib/workbook/shared-strings';
import { SheetTokenizer } from '../../lib/workbook/sheet-tokenizer';
import { DEFAULT_WORKBOOK_LIMITS } from '../../lib/workbook/workbook-limits';
import type { PlainCellValue } from '../../lib/workbook/plain-cell-value';
import { SeededRandom } from '../../lib/workbook/seeded-random';
import { inline, num, prefixElements, row, shared, worksheetXml } from './support/build-xlsx';

const SHARED_STRINGS = ['InvoiceNo', 'Ünïcödé €', null];

const SHEET = Buffer.from(
  '\ufeff' +
    worksheetXml([
      row(1, shared('A', 1, 0), inline('B', 1, 'Description'), `<c r="C1" t="inlineStr"><is><r><t>Unit</t></r><r><t>Price</t></r></is></c>`),
      '<!-- a comment between rows, with <c> in it -->',
      row(2, num('A', 2, 536365), shared('B', 2, 1), num('C', 2, '2.5499999999999998'), `<c r="D2" t="b"><v>0</v></c>`),
      `<row r="3" spans="1:4" ht="15"><c r="A3" s="2" t="str"><f>"C"&amp;"1"</f><v>C1</v></c><c r="B3" t="inlineStr"><is><t xml:space="preserve"> 日本語 &amp; ☺ </t></is></c><c r="C3"><v>-1.25E-3</v></c><c r="D3" t="e"><v>#DIV/0!</v></c></row>`,
      '<row r="4"/>',
      row(6, `<c r="A6" s="1"/>`, num('D', 6, 7)),
    ]).replace('<sheetData>', '<sheetPr><tabColor rgb="FFFF0000"/></sheetPr><cols><col min="1" max="4" width="12"/></cols><sheetData>') +
    '<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>',
  'utf8',
);

function readInPieces(pieces: Buffer[], wanted?: number[]): Array<[number, PlainCellValue[]]> {
  const rows: Array<[number, PlainCellValue[]]> = [];
  const control = wanted === undefined ? {} : { wanted: Uint8Array.from({ length: 8 }, (_, column) => (wanted.includes(column) ? 1 : 0)) };
  const tokenizer = new SheetTokenizer(SHARED_STRINGS, DEFAULT_WORKBOOK_LIMITS, { file: 'f', sheet: 's' }, (rowNumber, cells) => rows.push([rowNumber, [...cells]]), control);
  for (const piece of pieces) tokenizer.write(piece);
  tokenizer.end();
  return rows;
}

describe('SheetTokenizer', () => {
  const whole = readInPieces([SHEET]);

  it('reads rows, cells and every value type', () => {
    expect(whole).toEqual([
      [1, [undefined, 'InvoiceNo', 'Description', 'UnitPrice']],
      [2, [undefined, 536365, 'Ünïcödé €', 2.5499999999999998, false]],
      [3, [undefined, 'C1', '日本語 & ☺', -0.00125, { unusable: 'the error value #DIV/0!' }]],
      [6, [undefined, undefined, undefined, undefined, 7]],
    ]);
  });

  it('reads the same at every split into two pieces', () => {
    for (let at = 1; at < SHEET.length; at++) {
      expect([at, readInPieces([SHEET.subarray(0, at), SHEET.subarray(at)])]).toEqual([at, whole]);
    }
  });

  it('reads the same in pieces of random sizes, down to single bytes', () => {
    const random = new SeededRandom(7);
    for (let round = 0; round < 50; round++) {
      const pieces: Buffer[] = [];
      for (let at = 0; at < SHEET.length; ) {
        const size = round === 0 ? 1 : random.integer(1, 40);
        pieces.push(SHEET.subarray(at, at + size));
        at += size;
      }
      expect(readInPieces(pieces)).toEqual(whole);
    }
  });

  it('builds values only for the wanted columns, and still reports rows that have content elsewhere', () => {
    expect(readInPieces([SHEET], [1, 3])).toEqual([
      [1, [undefined, 'InvoiceNo', undefined, 'UnitPrice']],
      [2, [undefined, 536365, undefined, 2.5499999999999998]],
      [3, [undefined, 'C1', undefined, -0.00125]],
      [6, []],
    ]);
  });

  it('parses numbers exactly as Number() does', () => {
    const values = ['0', '-0', '6', '2.55', '0.1', '1.25', '40513.351388888885', '123456789012345', '1234567890123456789', '1e21', '-3.5E+2', '.5', '007'];
    const each = values.map((value) => readInPieces([Buffer.from(worksheetXml([row(1, `<c r="A1"><v>${value}</v></c>`)]))])[0][1][1]);
    expect(each).toEqual(values.map(Number));
  });
});

describe('SharedStringsParser', () => {
  const SST = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5">' +
      '<si><t>InvoiceNo</t></si><si><t xml:space="preserve"> Ünïcödé € </t></si><si/><si><t/></si>' +
      '<si><r><rPr><b/></rPr><t>C5363</t></r><r><t>79</t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh><phoneticPr fontId="1"/></si>' +
      '<si><t>a &lt;b&gt; &amp; &#233;&#x20AC;_x000D_</t></si></sst>',
    'utf8',
  );
  const parse = (pieces: Buffer[]) => {
    const parser = new SharedStringsParser(DEFAULT_WORKBOOK_LIMITS);
    for (const piece of pieces) parser.write(piece);
    return parser.end().toArray();
  };
  const whole = parse([SST]);

  it('keeps each item\'s visible text: runs joined, phonetic guides left out, trimmed, blank as null', () => {
    expect(whole).toEqual(['InvoiceNo', 'Ünïcödé €', null, null, 'C536379', 'a <b> & é€']);
  });

  it('reads the same at every split into two pieces', () => {
    for (let at = 1; at < SST.length; at++) expect([at, parse([SST.subarray(0, at), SST.subarray(at)])]).toEqual([at, whole]);
  });

  it('takes any XML white space after <si and <t, and <si />, at every split', () => {
    const sst = Buffer.from('<sst><si\n><t>a</t></si><si />' + '<si\t><t\r\nxml:space="preserve"> b </t></si><si\r\n><r><t\n>c</t></r><r><t\t>d</t></r></si><si><t>e</t></si></sst>');
    for (let at = 1; at < sst.length; at++) expect([at, parse([sst.subarray(0, at), sst.subarray(at)])]).toEqual([at, ['a', null, 'b', 'cd', 'e']]);
  });
});

describe('textOfRuns: one reading of string items, shared (<si>) and inline (<is>) alike', () => {
  const sharedItems = (items: string[]) => {
    const parser = new SharedStringsParser(DEFAULT_WORKBOOK_LIMITS);
    parser.write(Buffer.from(`<sst>${items.map((item) => `<si>${item}</si>`).join('')}</sst>`));
    return parser.end().toArray();
  };
  const inlineItems = (items: string[]) =>
    readInPieces([Buffer.from(worksheetXml([row(1, ...items.map((item, k) => `<c r="${String.fromCharCode(65 + k)}1" t="inlineStr"><is>${item}</is></c>`))]))])[0]?.[1].slice(1) ?? [];

  it('gives the same text for the same item body in either place', () => {
    const items = ['<t>plain</t>', '<r><t>C5363</t></r><r><rPr><b/></rPr><t>79</t></r><rPh sb="0" eb="1"><t>ruby</t></rPh>', '<t xml:space="preserve"> a &amp; b </t>', '<t/>', '<t>a</t><t/><t>b</t>'];
    const expected = ['plain', 'C536379', 'a & b', null, 'ab'];
    expect(sharedItems(items)).toEqual(expected);
    expect(inlineItems(items)).toEqual(expected.map((text) => text ?? undefined)); // an empty cell is not set
  });

  // The case the two copies of this loop had drifted on: a <t tag with no ">" before the item ends.
  it('refuses a <t> tag cut short inside the item, in a shared string and in an inline string alike', () => {
    const cutShort = '<t xml:space="preserve"';
    expect(() => sharedItems(['<t>fine</t>', cutShort])).toThrow('a <t> tag that is never finished');
    expect(() => inlineItems([cutShort])).toThrow('is not a valid worksheet: a <t> tag that is never finished');
    expect(() => inlineItems([`<r><t>fine</t></r>${cutShort}`])).toThrow('a <t> tag that is never finished');
  });
});

describe('NamespacePrefixStripper', () => {
  const strip = (pieces: Buffer[]) => {
    const stripper = new NamespacePrefixStripper();
    return Buffer.concat([...pieces.map((piece) => stripper.write(piece)), stripper.end()]).toString('utf8');
  };

  it('makes a prefixed sheet the unprefixed one at every split, and the tokenizer reads it the same', () => {
    const prefixed = Buffer.from(prefixElements(SHEET.toString('utf8'), 'x'));
    const expected = SHEET.toString('utf8').replace('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"', 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"');
    expect(prefixed.toString('utf8')).toContain('<x:row r="2"><x:c r="A2"><x:v>536365</x:v></x:c>');
    for (let at = 1; at < prefixed.length; at++) expect([at, strip([prefixed.subarray(0, at), prefixed.subarray(at)])]).toEqual([at, expected]);
    const stripper = new NamespacePrefixStripper();
    const pieces = Array.from({ length: Math.ceil(prefixed.length / 7) }, (_, k) => stripper.write(prefixed.subarray(7 * k, 7 * k + 7)));
    expect(readInPieces([...pieces, stripper.end()].filter((piece) => piece.length > 0))).toEqual(readInPieces([SHEET]));
  });

  it('passes a part without a prefix through untouched, even one whose elements name other prefixes', () => {
    const plain = Buffer.from('<worksheet xmlns:x14ac="urn:x"><x14ac:dyDescent/><sheetData/></worksheet>');
    const stripper = new NamespacePrefixStripper();
    expect(stripper.write(plain)).toBe(plain);
  });
});
