/**
 * Where a workbook keeps what the reader needs: its sheets in tab order (the workbook part, which
 * _rels/.rels names; xl/workbook.xml by convention only) and the part each one is stored in, plus
 * the shared-strings table (the workbook part's own relationships). Part names are never guessed
 * from a sheet's number or folder: writers name and place them as they like (openpyxl and exceljs
 * agree on xl/worksheets/sheetN.xml, others do not) and store them in any order.
 */
import { posix } from 'node:path';
import { InvalidWorkbookError } from '../errors';
import { MalformedXmlError, smallXmlElements } from './xml-text';
import type { XlsxPackage } from './xlsx-package';

export interface WorkbookSheet {
  name: string;
  /** The worksheet's part, e.g. xl/worksheets/sheet1.xml; undefined for chart and dialog sheets. */
  partPath: string | undefined;
}

export interface WorkbookParts {
  sheets: WorkbookSheet[];
  sharedStringsPath: string | undefined;
  /** Dates count from 1904-01-01 instead of 1899-12-30 (old Mac workbooks). */
  date1904: boolean;
}

const DEFAULT_WORKBOOK_PATH = 'xl/workbook.xml';
const WORKSHEET_TYPE = /\/worksheet$/;
const SHARED_STRINGS_TYPE = /\/sharedStrings$/;
const OFFICE_DOCUMENT_TYPE = /\/officeDocument$/;
/** The small parts are a few KiB; a workbook.xml past this is not one Excel wrote. */
const MAX_SMALL_PART_BYTES = 16 * 1024 * 1024;

export async function readWorkbookParts(xlsx: XlsxPackage, signal?: AbortSignal): Promise<WorkbookParts> {
  const rootRels = xlsx.part('_rels/.rels') ? await relationships(xlsx, '_rels/.rels', '', signal) : [];
  const workbookPath = rootRels.find((rel) => OFFICE_DOCUMENT_TYPE.test(rel.type) && xlsx.part(rel.target))?.target ?? DEFAULT_WORKBOOK_PATH;
  if (!xlsx.part(workbookPath)) {
    throw new InvalidWorkbookError({ file: xlsx.displayName }, `is a zip file but not an xlsx workbook (_rels/.rels names no workbook part, and there is no ${DEFAULT_WORKBOOK_PATH})`);
  }
  const workbookDir = posix.dirname(workbookPath);
  const relsPath = posix.join(workbookDir, '_rels', `${posix.basename(workbookPath)}.rels`);
  const rels = xlsx.part(relsPath) ? await relationships(xlsx, relsPath, workbookDir, signal) : [];
  const targetById = new Map(rels.map((rel) => [rel.id, rel]));

  const elements = await smallPart(xlsx, workbookPath, signal);
  if (elements[0]?.name !== 'workbook') {
    // A Word or PowerPoint package has _rels/.rels too; its main part is not a workbook.
    throw new InvalidWorkbookError({ file: xlsx.displayName }, `is a zip file but not an xlsx workbook (its main part ${workbookPath} is not a workbook)`);
  }
  const sheets: WorkbookSheet[] = [];
  /** Part (lower case, as parts are found) → the sheet that reads it. */
  const sheetByPart = new Map<string, string>();
  // Each sheet becomes work downstream (an activity per sheet): bound them before reading any.
  const { maxSheets } = xlsx.limits;
  if (elements.filter((element) => element.name === 'sheet').length > maxSheets) {
    throw new InvalidWorkbookError({ file: xlsx.displayName }, `${workbookPath} lists more than ${maxSheets} sheets (limit maxSheets)`);
  }
  let date1904 = false;
  for (const { name, attributes } of elements) {
    if (name === 'workbookPr') date1904 = attributes.date1904 === '1' || attributes.date1904 === 'true';
    if (name !== 'sheet') continue;
    const sheetName = attributes.name;
    if (sheetName === undefined) continue;
    const rel = targetById.get(attributes['r:id'] ?? attributeByLocalName(attributes, 'id') ?? '');
    const partPath = rel !== undefined && WORKSHEET_TYPE.test(rel.type) && xlsx.part(rel.target) ? rel.target : undefined;
    if (partPath !== undefined) {
      // A part read twice can only multiply the same rows.
      const other = sheetByPart.get(partPath.toLowerCase());
      if (other !== undefined) {
        throw new InvalidWorkbookError(
          { file: xlsx.displayName, sheet: sheetName },
          `is stored in ${partPath}, which sheet "${other}" already uses: a workbook stores each sheet in its own part`,
        );
      }
      sheetByPart.set(partPath.toLowerCase(), sheetName);
    }
    sheets.push({ name: sheetName, partPath });
  }
  const sharedStrings = rels.find((rel) => SHARED_STRINGS_TYPE.test(rel.type) && xlsx.part(rel.target));
  return { sheets, sharedStringsPath: sharedStrings?.target, date1904 };
}

interface Relationship {
  id: string;
  type: string;
  /** The target as a path inside the zip. */
  target: string;
}

async function relationships(xlsx: XlsxPackage, path: string, baseDir: string, signal?: AbortSignal): Promise<Relationship[]> {
  return (await smallPart(xlsx, path, signal))
    .filter((element) => element.name === 'Relationship' && element.attributes.TargetMode !== 'External')
    .map(({ attributes }) => ({
      id: attributes.Id ?? '',
      type: attributes.Type ?? '',
      target: attributes.Target?.startsWith('/') ? posix.normalize(attributes.Target.slice(1)) : posix.join(baseDir, attributes.Target ?? ''),
    }));
}

async function smallPart(xlsx: XlsxPackage, path: string, signal?: AbortSignal) {
  const part = xlsx.part(path);
  if (part !== undefined && part.decompressedSize > MAX_SMALL_PART_BYTES) {
    throw new InvalidWorkbookError({ file: xlsx.displayName }, `${path} is ${part.decompressedSize} bytes, far more than a workbook's index needs`);
  }
  const bytes = await xlsx.readPart(path, { signal });
  try {
    return smallXmlElements(bytes);
  } catch (error) {
    if (error instanceof MalformedXmlError) throw new InvalidWorkbookError({ file: xlsx.displayName }, `${path} is not valid: ${error.message}`);
    throw error;
  }
}

function attributeByLocalName(attributes: Record<string, string>, localName: string): string | undefined {
  for (const [name, value] of Object.entries(attributes)) if (name.endsWith(`:${localName}`)) return value;
  return undefined;
}
