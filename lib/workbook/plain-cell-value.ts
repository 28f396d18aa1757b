/**
 * Flattens the many shapes an exceljs cell value can take into what the cell shows: a formula's
 * cached result, rich text's concatenated runs, trimmed text. Export tools and hand edits produce
 * all of these for the same column, so the decoders only ever deal with the flat form.
 */
import type { CellValue } from 'exceljs';

/** A cell whose content cannot stand for a value at all: an error value, an uncomputed formula. */
export interface UnusableCell {
  unusable: string;
}

export type PlainCellValue = number | string | boolean | Date | UnusableCell | null;

export function plainCellValue(value: CellValue): PlainCellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return value;
  if (typeof value === 'string') return trimmedText(value);
  if ('richText' in value) return trimmedText(value.richText.map((run) => run.text ?? '').join(''));
  if ('error' in value) return { unusable: `the error value ${value.error}` };
  if ('formula' in value || 'sharedFormula' in value) {
    // Excel stores the last computed result beside the formula; that is what the cell shows.
    if (value.result === undefined) return { unusable: 'a formula without a stored result (open and save it in Excel)' };
    return plainCellValue(value.result);
  }
  if ('hyperlink' in value) return trimmedText(value.text);
  return null;
}

/** Empty and whitespace-only text both mean "no value". */
function trimmedText(text: string): string | null {
  const trimmed = text.trim();
  return trimmed === '' ? null : trimmed;
}

/** How a value is quoted in an error message; long values are cut so one bad cell stays one line. */
export function describeCellValue(value: PlainCellValue, maxLength = 40): string {
  if (value === null) return 'an empty cell';
  if (typeof value === 'object' && !(value instanceof Date)) return value.unusable;
  const shown = value instanceof Date ? value.toISOString() : typeof value === 'boolean' ? String(value).toUpperCase() : String(value);
  return JSON.stringify(shown.length > maxLength ? `${shown.slice(0, maxLength)}…` : shown);
}
