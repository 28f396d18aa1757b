/**
 * The seed's cleaning and counting rules, restated plainly for tests, so that the figures a test
 * expects never come from the code it checks. Nothing here imports lib/: a bug in the project's
 * reader, cleaning or counting cannot agree with itself through this file.
 *
 * The rules (../shared/DESIGN.md, ../shared/data/SOURCE.md): a row is dropped, under the first rule it
 * breaks, for a missing CustomerID, a missing InvoiceNo, a cancellation (InvoiceNo starting with
 * C), a Quantity that is not positive, a UnitPrice that is not positive. A customer's
 * PurchaseCount is the number of distinct InvoiceNo among their kept rows; more than 5 is High
 * Frequency, 5 or fewer Low Frequency.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import zlib from 'node:zlib';

/** A transaction row's cells as text, as an export holds them ('' for an empty cell). */
export interface PlainRow {
  invoiceNo: string;
  customerId: string;
  quantity: string;
  unitPrice: string;
  /** As the CSV has it: YYYY-MM-DD HH:MM:SS. */
  invoiceDate: string;
}

export interface PlainFigures {
  rowsRead: number;
  rowsKept: number;
  rowsDropped: { missingCustomerId: number; missingInvoiceNo: number; cancellation: number; nonPositiveQuantity: number; nonPositiveUnitPrice: number };
  /** Of the kept rows, ISO without a time zone (2011-12-09T12:50:00). */
  newestInvoiceDate?: string;
  customers: number;
  low: number;
  high: number;
  purchases: number;
  purchaseCounts: Map<number, number>;
}

export async function plainFigures(rows: Iterable<PlainRow> | AsyncIterable<PlainRow>): Promise<PlainFigures> {
  const rowsDropped = { missingCustomerId: 0, missingInvoiceNo: 0, cancellation: 0, nonPositiveQuantity: 0, nonPositiveUnitPrice: 0 };
  const invoices = new Map<number, Set<string>>();
  let rowsRead = 0;
  let rowsKept = 0;
  let newest = '';
  for await (const row of rows) {
    rowsRead += 1;
    const invoiceNo = row.invoiceNo.trim();
    if (row.customerId.trim() === '') rowsDropped.missingCustomerId += 1;
    else if (invoiceNo === '') rowsDropped.missingInvoiceNo += 1;
    else if (invoiceNo.startsWith('C') || invoiceNo.startsWith('c')) rowsDropped.cancellation += 1;
    else if (!(Number(row.quantity) > 0)) rowsDropped.nonPositiveQuantity += 1;
    else if (!(Number(row.unitPrice) > 0)) rowsDropped.nonPositiveUnitPrice += 1;
    else {
      rowsKept += 1;
      const customerId = Number(row.customerId);
      if (!invoices.has(customerId)) invoices.set(customerId, new Set());
      invoices.get(customerId)!.add(invoiceNo);
      if (row.invoiceDate > newest) newest = row.invoiceDate;
    }
  }
  const purchaseCounts = new Map([...invoices].map(([customerId, set]) => [customerId, set.size]));
  const counts = [...purchaseCounts.values()];
  const high = counts.filter((count) => count > 5).length;
  return {
    rowsRead,
    rowsKept,
    rowsDropped,
    newestInvoiceDate: newest === '' ? undefined : newest.replace(' ', 'T'),
    customers: counts.length,
    low: counts.length - high,
    high,
    purchases: counts.reduce((a, b) => a + b, 0),
    purchaseCounts,
  };
}

/**
 * One CSV line split into fields: a field in double quotes may hold commas, and a quote inside it
 * is written twice (../shared/data/SOURCE.md: minimal quoting, no line breaks inside a field).
 */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char !== '"') field += char;
      else if (line[i + 1] === '"') field += line[i++];
      else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

/** Every data row of a gzipped CSV with the UCI header, its cells as text. */
export async function* readPlainCsvGz(filePath: string): AsyncGenerator<PlainRow> {
  const lines = readline.createInterface({ input: fs.createReadStream(filePath).pipe(zlib.createGunzip()), crlfDelay: Infinity });
  let column: Record<string, number> | undefined;
  for await (const line of lines) {
    const fields = splitCsvLine(line);
    if (column === undefined) {
      column = Object.fromEntries(fields.map((name, index) => [name, index]));
      continue;
    }
    yield {
      invoiceNo: fields[column.InvoiceNo],
      customerId: fields[column.CustomerID],
      quantity: fields[column.Quantity],
      unitPrice: fields[column.UnitPrice],
      invoiceDate: fields[column.InvoiceDate],
    };
  }
}
