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
 *
 * RFM (issue 16, README "RFM segments"), restated as plainly: RecencyDays is the as-of date (by
 * default the day after the newest kept row's day) minus the day of the customer's newest kept
 * row; Monetary is the exact sum of Quantity × UnitPrice over their kept rows, the cells' decimal
 * text parsed into whole units of 10^-5 (cents × 1000; a line that needs finer units is refused,
 * never rounded), then rounded half up to cents; each score is `1 + floor(5 × L / N)`, with L the
 * customers strictly worse (fewer invoices, less Monetary, more days; no dated row at all is the
 * least recent); the segment is the issue's ten-name table, spelt out as code, not read from the
 * rules file the pipeline reads.
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

/** What RFM needs of one customer's kept rows. */
export interface PlainCustomerValues {
  /** The newest kept row's InvoiceDate as the export has it (YYYY-MM-DD HH:MM:SS); null if none has a date. */
  newestInvoiceDate: string | null;
  /** Σ Quantity × UnitPrice, exactly, in units of 10^-5 (cents × 1000). */
  amount: bigint;
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
  customerValues: Map<number, PlainCustomerValues>;
}

export async function plainFigures(rows: Iterable<PlainRow> | AsyncIterable<PlainRow>): Promise<PlainFigures> {
  const rowsDropped = { missingCustomerId: 0, missingInvoiceNo: 0, cancellation: 0, nonPositiveQuantity: 0, nonPositiveUnitPrice: 0 };
  const invoices = new Map<number, Set<string>>();
  const customerValues = new Map<number, PlainCustomerValues>();
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
      const values = customerValues.get(customerId) ?? { newestInvoiceDate: null, amount: 0n };
      values.amount += lineAmount(row.quantity, row.unitPrice);
      const date = row.invoiceDate.trim();
      if (date !== '' && (values.newestInvoiceDate === null || date > values.newestInvoiceDate)) values.newestInvoiceDate = date;
      customerValues.set(customerId, values);
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
    customerValues,
  };
}

/** Units of 10^-5 per 1: Monetary is exact in these before it is rounded to cents. */
const UNITS_DECIMALS = 5;

/** A cell's decimal text ("2.55", "12", "-3") as a whole number times 10^-decimals. */
export function parseDecimal(text: string): { digits: bigint; decimals: number } {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`plain reference: "${text}" is not a plain decimal number`);
  const [, sign, whole, fraction = ''] = match;
  return { digits: BigInt(`${sign}${whole}${fraction}`), decimals: fraction.length };
}

/** Quantity × UnitPrice of one line, exactly, in units of 10^-5. */
export function lineAmount(quantity: string, unitPrice: string): bigint {
  const q = parseDecimal(quantity);
  const p = parseDecimal(unitPrice);
  const decimals = q.decimals + p.decimals;
  if (decimals > UNITS_DECIMALS) throw new Error(`plain reference: ${quantity} × ${unitPrice} needs more than ${UNITS_DECIMALS} decimals`);
  return q.digits * p.digits * 10n ** BigInt(UNITS_DECIMALS - decimals);
}

/** Units of 10^-5 rounded half up to whole cents; kept rows only ever add up to more than 0. */
export function centsOf(units: bigint): bigint {
  if (units < 0n) throw new Error(`plain reference: a negative Monetary (${units} units) cannot come from kept rows`);
  return (units + 500n) / 1000n;
}

/** Cents as MySQL's DECIMAL(…,2) reads back: 123456n → "1234.56". */
export function centsText(cents: bigint): string {
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}

/** The ten names, in its table's order. */
export const PLAIN_SEGMENT_NAMES = [
  'Hibernating',
  'At Risk',
  "Can't Lose Them",
  'About To Sleep',
  'Need Attention',
  'Loyal Customers',
  'Promising',
  'New Customers',
  'Potential Loyalists',
  'Champions',
] as const;

/** The table: recency score and frequency score → segment. */
export function plainSegment(recency: number, frequency: number): string {
  if (recency <= 2) return frequency <= 2 ? 'Hibernating' : frequency <= 4 ? 'At Risk' : "Can't Lose Them";
  if (recency === 3) return frequency <= 2 ? 'About To Sleep' : frequency === 3 ? 'Need Attention' : 'Loyal Customers';
  if (recency === 4) return frequency === 1 ? 'Promising' : frequency <= 3 ? 'Potential Loyalists' : 'Loyal Customers';
  return frequency === 1 ? 'New Customers' : frequency <= 3 ? 'Potential Loyalists' : 'Champions';
}

export interface PlainCustomerRfm {
  CustomerID: number;
  PurchaseCount: number;
  RecencyDays: number | null;
  /** Cents, as MySQL's DECIMAL reads back: "1234.56". */
  Monetary: string;
  RecencyScore: number;
  FrequencyScore: number;
  MonetaryScore: number;
  RfmSegment: string;
}

export interface PlainRfm {
  /** YYYY-MM-DD; null when no kept row has a date and none was given. */
  asOf: string | null;
  /** Every customer, by CustomerID, with the column names of customer_segments. */
  customers: PlainCustomerRfm[];
  /** Each of the ten names (in the order, empty ones too): its customers and their Monetary. */
  segments: Array<{ segment: string; customers: number; monetary: string }>;
}

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY_MS;

/** How many of `ascending` are strictly less than `value` (binary search). */
function countBelow(ascending: bigint[], value: bigint): number {
  let low = 0;
  let high = ascending.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (ascending[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** `1 + floor(5 × L / N)`, in whole numbers. */
const band = (worse: number, customers: number) => 1 + Number((5n * BigInt(worse)) / BigInt(customers));

/** RFM of every customer of `figures`; `asOf` (YYYY-MM-DD) by default the day after the newest kept row's day. */
export function plainRfm(figures: PlainFigures, asOf?: string): PlainRfm {
  const day = asOf ?? (figures.newestInvoiceDate === undefined ? null : new Date((dayNumber(figures.newestInvoiceDate) + 1) * DAY_MS).toISOString().slice(0, 10));
  const ids = [...figures.purchaseCounts.keys()].sort((a, b) => a - b);
  const n = ids.length;
  const rows = ids.map((id) => {
    const { newestInvoiceDate, amount } = figures.customerValues.get(id)!;
    const recencyDays = newestInvoiceDate === null || day === null ? null : dayNumber(day) - dayNumber(newestInvoiceDate);
    return { id, purchaseCount: figures.purchaseCounts.get(id)!, recencyDays, cents: centsOf(amount) };
  });
  const ascending = (values: bigint[]) => values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const counts = ascending(rows.map((row) => BigInt(row.purchaseCount)));
  const cents = ascending(rows.map((row) => row.cents));
  // Recency: larger is better, so days are negated; the undated are worse than every dated customer.
  const undated = rows.filter((row) => row.recencyDays === null).length;
  const negatedDays = ascending(rows.filter((row) => row.recencyDays !== null).map((row) => -BigInt(row.recencyDays!)));
  const customers = rows.map((row): PlainCustomerRfm => {
    const RecencyScore = band(row.recencyDays === null ? 0 : undated + countBelow(negatedDays, -BigInt(row.recencyDays)), n);
    const FrequencyScore = band(countBelow(counts, BigInt(row.purchaseCount)), n);
    return {
      CustomerID: row.id,
      PurchaseCount: row.purchaseCount,
      RecencyDays: row.recencyDays,
      Monetary: centsText(row.cents),
      RecencyScore,
      FrequencyScore,
      MonetaryScore: band(countBelow(cents, row.cents), n),
      RfmSegment: plainSegment(RecencyScore, FrequencyScore),
    };
  });
  const segments = PLAIN_SEGMENT_NAMES.map((segment) => {
    const members = rows.filter((_, i) => customers[i].RfmSegment === segment);
    return { segment, customers: members.length, monetary: centsText(members.reduce((sum, row) => sum + row.cents, 0n)) };
  });
  return { asOf: day, customers, segments };
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
