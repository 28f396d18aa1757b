/**
 * Builds xlsx files byte by byte for reader tests: every part spelt out as XML, stored in the
 * order and the zip form the test asks for (data descriptors, sizes that lie, zip64 records), so
 * a test can produce what a given writer, or an attacker, would.
 */
import { posix } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntrySpec {
  path: string;
  data: Buffer | string;
  /** 'deflate' unless told. */
  method?: 'deflate' | 'store';
  /** Sizes and CRC after the data (as streaming writers do), zeros in the local header. */
  dataDescriptor?: boolean;
  /** What the directory claims the data inflates to, if not the truth. */
  declaredSize?: number;
  /** Compressed bytes to store instead of compressing `data` (e.g. a crafted deflate stream). */
  compressed?: Buffer;
  /** A zip64 extended-information extra field on the entry. */
  zip64ExtraField?: boolean;
}

export function buildZip(entries: ZipEntrySpec[], options: { zip64Locator?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data, 'utf8');
    const method = entry.method === 'store' ? 0 : 8;
    const compressed = entry.compressed ?? (method === 8 ? deflateRawSync(data) : data);
    const size = entry.declaredSize ?? data.length;
    const crc = crc32(data);
    const name = Buffer.from(entry.path, 'utf8');
    const extra = entry.zip64ExtraField ? zip64Extra() : Buffer.alloc(0);
    const flags = (entry.dataDescriptor ? 0x08 : 0) | 0x800;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(entry.dataDescriptor ? 0 : crc, 14);
    local.writeUInt32LE(entry.dataDescriptor ? 0 : compressed.length, 18);
    local.writeUInt32LE(entry.dataDescriptor ? 0 : size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const descriptor = Buffer.alloc(entry.dataDescriptor ? 16 : 0);
    if (entry.dataDescriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(compressed.length, 8);
      descriptor.writeUInt32LE(size, 12);
    }
    locals.push(local, name, extra, compressed, descriptor);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, extra);
    offset += local.length + name.length + extra.length + compressed.length + descriptor.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  const locator = options.zip64Locator ? zip64Locator(offset + directory.length) : Buffer.alloc(0);
  return Buffer.concat([...locals, directory, locator, end]);
}

function zip64Extra(): Buffer {
  const extra = Buffer.alloc(4);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(0, 2);
  return extra;
}

/** A zip64 end-of-directory locator, pointing at nothing useful: the reader must refuse before following it. */
function zip64Locator(at: number): Buffer {
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(at), 8);
  locator.writeUInt32LE(1, 16);
  return locator;
}

export interface SheetSpec {
  name: string;
  /** The worksheet XML, or the <row> elements to put inside <sheetData>. */
  xml?: string;
  rows?: string[];
  /** Where the part lives (default xl/worksheets/sheetN.xml). */
  path?: string;
  /** The relationship's target as written instead: relative to the workbook part's folder, or absolute with a leading "/". */
  target?: string;
}

export interface XlsxSpec {
  sheets: SheetSpec[];
  /** Shared-strings items as raw XML (`<si>…</si>`), or plain strings to wrap. */
  sharedStrings?: string[];
  /** The sheets stored first, before xl/workbook.xml (as openpyxl and exceljs write them). */
  sheetsFirst?: boolean;
  dataDescriptors?: boolean;
  /** Extra or replacement parts, e.g. a hostile xl/workbook.xml. */
  parts?: Record<string, string | Buffer>;
  /**
   * Where the workbook part lives (default xl/workbook.xml); its relationships then name the sheets
   * (by default worksheets/sheetN.xml) and the shared strings (sharedStrings.xml) relative to its
   * folder, as the format has them.
   */
  workbookPath?: string;
  /**
   * Every element of the workbook, sheet and shared-strings parts qualified with this prefix
   * (`<x:worksheet xmlns:x="…">`), as the .NET Open XML SDK writes them.
   */
  namespacePrefix?: string;
}

const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

export function buildXlsx(spec: XlsxSpec): Buffer {
  const workbookPath = spec.workbookPath ?? 'xl/workbook.xml';
  const workbookDir = posix.dirname(workbookPath);
  const inPackage = (path: string) => (path.startsWith('/') ? path.slice(1) : posix.join(workbookDir, path));
  const sheetTargets = spec.sheets.map(
    (sheet, i) => sheet.target ?? (sheet.path !== undefined ? `/${sheet.path}` : spec.workbookPath ? `worksheets/sheet${i + 1}.xml` : `/xl/worksheets/sheet${i + 1}.xml`),
  );
  const sheetPaths = sheetTargets.map(inPackage);
  const prefixed = (xml: string) => (spec.namespacePrefix === undefined ? xml : prefixElements(xml, spec.namespacePrefix));
  const workbook =
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="${MAIN}" xmlns:r="${REL}"><sheets>` +
    spec.sheets.map((sheet, i) => `<sheet name="${escapeXml(sheet.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('') +
    '</sheets></workbook>';
  const rels =
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
    sheetTargets.map((target, i) => `<Relationship Id="rId${i + 1}" Type="${REL}/worksheet" Target="${target}"/>`).join('') +
    (spec.sharedStrings ? `<Relationship Id="rIdS" Type="${REL}/sharedStrings" Target="sharedStrings.xml"/>` : '') +
    '</Relationships>';
  const rootRels =
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
    `<Relationship Id="rId1" Type="${REL}/officeDocument" Target="${workbookPath}"/></Relationships>`;
  const parts: Record<string, string | Buffer> = {
    '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    '_rels/.rels': rootRels,
    [workbookPath]: prefixed(workbook),
    [posix.join(workbookDir, '_rels', `${posix.basename(workbookPath)}.rels`)]: rels,
  };
  if (spec.sharedStrings) {
    const items = spec.sharedStrings.map((item) => (item.startsWith('<si') ? item : `<si><t xml:space="preserve">${escapeXml(item)}</t></si>`));
    parts[inPackage('sharedStrings.xml')] = prefixed(`<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="${MAIN}" count="${items.length}" uniqueCount="${items.length}">${items.join('')}</sst>`);
  }
  const sheetParts: Record<string, string> = {};
  spec.sheets.forEach((sheet, i) => {
    sheetParts[sheetPaths[i]] = prefixed(sheet.xml ?? worksheetXml(sheet.rows ?? []));
  });
  const ordered = spec.sheetsFirst ? { ...sheetParts, ...parts } : { ...parts, ...sheetParts };
  Object.assign(ordered, spec.parts);
  return buildZip(Object.entries(ordered).map(([path, data]) => ({ path, data, dataDescriptor: spec.dataDescriptors })));
}

/** The part with every element qualified: `<x:row>`, `</x:row>`, the main namespace bound to the prefix. */
export function prefixElements(xml: string, prefix: string): string {
  return xml.replace(/<(\/?)([A-Za-z_])/g, `<$1${prefix}:$2`).replace(`xmlns="${MAIN}"`, `xmlns:${prefix}="${MAIN}"`);
}

export function worksheetXml(rows: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="${MAIN}" xmlns:r="${REL}"><sheetData>${rows.join('')}</sheetData></worksheet>`;
}

/** `<row r="n">` with the given cells, e.g. row(2, num('A', 2, 536365), shared('B', 2, 3)). */
export function row(rowNumber: number, ...cells: string[]): string {
  return `<row r="${rowNumber}">${cells.join('')}</row>`;
}

export const num = (column: string, rowNumber: number, value: number | string) => `<c r="${column}${rowNumber}"><v>${value}</v></c>`;
export const shared = (column: string, rowNumber: number, index: number) => `<c r="${column}${rowNumber}" t="s"><v>${index}</v></c>`;
export const inline = (column: string, rowNumber: number, text: string) => `<c r="${column}${rowNumber}" t="inlineStr"><is><t>${escapeXml(text)}</t></is></c>`;

/** The eight UCI header cells as inline strings in row `rowNumber`, in the given order. */
export function headerRow(rowNumber: number, names: readonly string[]): string {
  return row(rowNumber, ...names.map((name, i) => inline(columnLetter(i + 1), rowNumber, name)));
}

export function columnLetter(column: number): string {
  let name = '';
  for (let rest = column; rest > 0; rest = Math.floor((rest - 1) / 26)) name = String.fromCharCode(65 + ((rest - 1) % 26)) + name;
  return name;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
