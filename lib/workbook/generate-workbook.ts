/**
 * Writes a workbook shaped like the UCI "Online Retail" export, dirt included, so the demo works
 * without the real file and tests can check the pipeline against figures known in advance.
 *
 * The expected figures come from the generator's own ground truth: why it drew each row (a guest,
 * a cancellation, a soiled quantity or price), never from reading the file back or from the
 * project's cleaning and counting code. A bug in the reader or in those rules must not be able to
 * agree with itself.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import ExcelJS from 'exceljs';
import type { PurchaseSummary } from '../aggregation/purchase-counter';
import type { DataQualityReport } from '../cleaning/data-quality-report';
import type { DropReason } from '../cleaning/drop-reason';
import { SeededRandom } from './seeded-random';
import { TRANSACTION_COLUMNS } from './transaction-columns';
import { EXCEL_MAX_ROWS } from './workbook-limits';

export interface GenerateWorkbookOptions {
  outPath: string;
  /** Data rows, not counting the header. */
  rows: number;
  seed?: number;
  /** The first sheet's name; the next ones (past rowsPerSheet) get " 2", " 3", ... */
  sheetName?: string;
  /** Data rows per sheet before the next sheet starts; by default as many as Excel holds. */
  rowsPerSheet?: number;
  /**
   * Distinct customers to draw from; by default one per 125 rows, as in the UCI export. Up to the
   * UCI range's 5,942 they are drawn from it; more (the growth bench's millions) take consecutive
   * CustomerIDs from its first one on, in a shuffled order.
   */
  customers?: number;
  /** Mean lines of an invoice that is not a cancellation: 20 by default, as in the UCI export; 1 gives every invoice one line. */
  meanLinesPerInvoice?: number;
  /** Invoices go to customer floor(n * u^skew): 2 by default (a few customers buy often, most once or twice); 1 draws them uniformly. */
  customerSkew?: number;
  /**
   * Bad nights as upstream jobs write them, for audit tests and demos: `lastRowsOnly: n` writes only
   * the last n of the rows (an export that covers only the last days), `blankCustomerIds` leaves
   * every CustomerID cell empty. The rows are drawn as without them, so the dates stay the same.
   */
  lastRowsOnly?: number;
  blankCustomerIds?: boolean;
  /** Called with the (CustomerID, InvoiceNo) of every row the rules keep, for a test that needs the per-customer truth. */
  onKeptRow?: (customerId: number, invoiceNo: string) => void;
}

/** How many of each kind of dirt were written, so a test can check the reader met every kind. */
export interface GeneratedDirt {
  rowsWithoutCustomerId: number;
  cancellationRows: number;
  negativeQuantitiesOnNormalInvoices: number;
  zeroUnitPrices: number;
  customerIdsAsText: number;
  quantitiesAsText: number;
  invoiceNosAsText: number;
  unitPricesAsText: number;
  /** Text-stored numbers with leading or trailing spaces (a subset of the four above). */
  paddedNumbersAsText: number;
  paddedDescriptions: number;
  missingDescriptions: number;
}

export interface GeneratedWorkbook extends DataQualityReport, PurchaseSummary {
  /** The newest InvoiceDate of a kept row (ISO, to the second), as the reader should find it. */
  newestInvoiceDate?: string;
  dirt: GeneratedDirt;
  /** The sheets written, in order, each with the header and its share of the rows. */
  sheets: string[];
}

export const DEFAULT_GENERATED_SHEET_NAME = 'Online Retail';

/** Excel's 1,048,576 rows less the header: more rows than this go on to the next sheet. */
export const MAX_DATA_ROWS_PER_SHEET = EXCEL_MAX_ROWS - 1;

/** Every kind of dirt at zero, to count up from. */
export function noDirt(): GeneratedDirt {
  return {
    rowsWithoutCustomerId: 0,
    cancellationRows: 0,
    negativeQuantitiesOnNormalInvoices: 0,
    zeroUnitPrices: 0,
    customerIdsAsText: 0,
    quantitiesAsText: 0,
    invoiceNosAsText: 0,
    unitPricesAsText: 0,
    paddedNumbersAsText: 0,
    paddedDescriptions: 0,
    missingDescriptions: 0,
  };
}
const DATE_FORMAT = 'm/d/yy h:mm';
const FIRST_INVOICE_NO = 536365;
const FIRST_INVOICE_TIME = Date.UTC(2010, 11, 1, 8, 26);

// Rates chosen to resemble the UCI workbook (about 25% of rows without a customer, 2% cancellations).
const GUEST_INVOICE_RATE = 0.25;
const CANCELLATION_INVOICE_RATE = 0.16; // cancellations are short: 0.16 of invoices is about 2% of rows
const GUEST_CANCELLATION_RATE = 0.04;
const NEGATIVE_QUANTITY_RATE = 0.002;
const ZERO_PRICE_RATE = 0.002;
const MISSING_DESCRIPTION_RATE = 0.003;
const INVOICE_NO_AS_TEXT_RATE = 0.03;
const CUSTOMER_ID_AS_TEXT_RATE = 0.015;
const QUANTITY_AS_TEXT_RATE = 0.01;
const UNIT_PRICE_AS_TEXT_RATE = 0.005;
const PADDED_TEXT_NUMBER_RATE = 0.3;
const MEAN_LINES_PER_INVOICE = 20;
/** More customers than this are refused: each one is kept in memory with its invoices while generating. */
export const MAX_GENERATED_CUSTOMERS = 10_000_000;
const MAX_ZIP_BACKLOG_BYTES = 1024 * 1024;
/** Invoices go to customer floor(n * u^2) by default: a few customers buy often, most buy once or twice. */
const CUSTOMER_SKEW = 2;
/** ../shared/DESIGN.md: more than 5 distinct invoices is High Frequency. Restated here, not imported, on purpose. */
const HIGH_FREQUENCY_ABOVE = 5;

const COUNTRIES = ['France', 'Germany', 'EIRE', 'Spain', 'Netherlands', 'Belgium', 'Switzerland', 'Portugal', 'Australia', 'Norway'];
const QUANTITIES = [1, 1, 2, 2, 3, 4, 6, 6, 8, 10, 12, 12, 12, 24, 24, 36, 48, 72, 96, 144];
const COLOURS = ['WHITE', 'RED', 'PINK', 'BLUE', 'GREEN', 'IVORY', 'CREAM', 'BLACK', 'PASTEL', 'VINTAGE', 'RETROSPOT', 'SPOTTY'];
const MOTIFS = ['HANGING HEART', 'REGENCY', 'PAISLEY', 'POLKADOT', 'SKULL', 'BIRD', 'DOILY', 'CHRISTMAS', 'UNION JACK', 'ROSE'];
const ITEMS = ['T-LIGHT HOLDER', 'LUNCH BAG', 'CAKE CASES', 'TEACUP AND SAUCER', 'JUMBO BAG', 'BUNTING', 'NAPKINS', 'DOORMAT', 'CANDLE', 'MUG', 'PHOTO FRAME', 'PURSE'];

interface Customer {
  id: number;
  country: string;
}

interface Product {
  stockCode: number | string;
  description: string;
  unitPrice: number;
}

type Cell = string | number | Date | null;

export async function generateWorkbook(options: GenerateWorkbookOptions): Promise<GeneratedWorkbook> {
  const { outPath, rows, seed = 1, sheetName = DEFAULT_GENERATED_SHEET_NAME, rowsPerSheet = MAX_DATA_ROWS_PER_SHEET } = options;
  const customerCount = options.customers ?? Math.min(4400, Math.max(20, Math.round(rows / 125)));
  const { meanLinesPerInvoice = MEAN_LINES_PER_INVOICE, customerSkew = CUSTOMER_SKEW } = options;
  if (!Number.isSafeInteger(customerCount) || customerCount < 1 || customerCount > MAX_GENERATED_CUSTOMERS) {
    throw new RangeError(`customers must be a whole number from 1 to ${MAX_GENERATED_CUSTOMERS} (got ${customerCount})`);
  }
  if (!(meanLinesPerInvoice >= 1)) throw new RangeError(`meanLinesPerInvoice must be 1 or more (got ${meanLinesPerInvoice})`);
  if (!(customerSkew > 0)) throw new RangeError(`customerSkew must be more than 0 (got ${customerSkew})`);
  if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`rows must be a whole number, 0 or more (got ${rows})`);
  if (!Number.isSafeInteger(rowsPerSheet) || rowsPerSheet < 1 || rowsPerSheet > MAX_DATA_ROWS_PER_SHEET) {
    throw new RangeError(`rowsPerSheet must be a whole number from 1 to ${MAX_DATA_ROWS_PER_SHEET} (got ${rowsPerSheet})`);
  }

  const random = new SeededRandom(seed);
  const customers = makeCustomers(random, customerCount);
  const products = makeProducts(random, Math.min(4000, Math.max(50, Math.round(rows / 130))));
  const rowsDropped: Record<DropReason, number> = { missingCustomerId: 0, missingInvoiceNo: 0, cancellation: 0, nonPositiveQuantity: 0, nonPositiveUnitPrice: 0 };
  let rowsRead = 0;
  let rowsKept = 0;
  const invoicesByCustomer = new Map<number, Set<string>>();
  const dirt = noDirt();

  /** A number as an export might store it as text: sometimes with stray spaces. */
  const numberAsText = (text: string): string => {
    if (!random.chance(PADDED_TEXT_NUMBER_RATE)) return text;
    dirt.paddedNumbersAsText += 1;
    return random.chance(0.5) ? ` ${text} ` : `${text} `;
  };

  const sheets: string[] = [];
  const firstWrittenRow = options.lastRowsOnly === undefined ? 0 : Math.max(0, rows - options.lastRowsOnly);
  let newestInvoiceTime = -Infinity;

  // Written under a temporary name and renamed when complete, so a crash never leaves a
  // half-written workbook where the pipeline would pick it up.
  await mkdir(dirname(outPath), { recursive: true });
  const partialPath = `${outPath}.partial-${process.pid}`;
  const output = createWriteStream(partialPath);
  const outputFailed = once(output, 'error').then(([error]) => Promise.reject(error as Error));
  outputFailed.catch(() => undefined); // observed below; keeps an early failure from going unhandled
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: output, useSharedStrings: true, useStyles: true });
  try {
    const addSheet = (): ExcelJS.Worksheet => {
      const name = sheets.length === 0 ? sheetName : `${sheetName} ${sheets.length + 1}`;
      sheets.push(name);
      const added = writer.addWorksheet(name);
      added.columns = [
        { width: 10 },
        { width: 10 },
        { width: 36 },
        { width: 9 },
        { width: 15, style: { numFmt: DATE_FORMAT } },
        { width: 10 },
        { width: 11 },
        { width: 15 },
      ];
      added.addRow([...TRANSACTION_COLUMNS]).commit();
      return added;
    };
    let sheet = addSheet();
    let rowsInSheet = 0;

    let invoiceNumber = FIRST_INVOICE_NO - 1;
    let invoiceTime = FIRST_INVOICE_TIME;
    let written = 0;
    while (written < rows) {
      invoiceNumber += 1;
      invoiceTime += random.integer(1, 45) * 60_000;
      const isCancellation = random.chance(CANCELLATION_INVOICE_RATE);
      const isGuest = random.chance(isCancellation ? GUEST_CANCELLATION_RATE : GUEST_INVOICE_RATE);
      const customer = isGuest ? undefined : customers[Math.floor(customers.length * random.next() ** customerSkew)];
      const invoiceNo = isCancellation ? `C${invoiceNumber}` : String(invoiceNumber);
      const invoiceNoAsText = !isCancellation && random.chance(INVOICE_NO_AS_TEXT_RATE);
      const country = customer?.country ?? (random.chance(0.9) ? 'United Kingdom' : random.pick(COUNTRIES));
      const lineCount = isCancellation ? random.integer(1, 4) : 1 + Math.floor(-Math.log(1 - random.next()) * (meanLinesPerInvoice - 1));
      const invoiceDate = new Date(invoiceTime);

      for (let line = 0; line < lineCount && written < rows; line++, written++) {
        // Drawn as always, so the rows that are written are exactly the full export's last ones.
        const omitted = written < firstWrittenRow;
        const product = products[Math.floor(products.length * random.next() ** 1.5)];
        let quantity = random.pick(QUANTITIES); // never 0: only the soiled ones are not positive
        const soiledQuantity = !isCancellation && random.chance(NEGATIVE_QUANTITY_RATE);
        if (isCancellation || soiledQuantity) quantity = -quantity;
        if (soiledQuantity) dirt.negativeQuantitiesOnNormalInvoices += 1;
        let unitPrice = product.unitPrice; // never 0: only the soiled ones are
        const zeroPrice = random.chance(ZERO_PRICE_RATE);
        if (zeroPrice) {
          unitPrice = 0;
          dirt.zeroUnitPrices += 1;
        }

        const customerId = options.blankCustomerIds ? null : (customer?.id ?? null);
        // The ground truth: why this row was drawn dirty, named by the first of the seed's rules it
        // breaks (a cancellation's quantities are negative too, but it counts as a cancellation).
        // Every invoice has a number, so none is dropped for a missing one.
        const dropReason: DropReason | undefined =
          customerId === null ? 'missingCustomerId'
          : isCancellation ? 'cancellation'
          : soiledQuantity ? 'nonPositiveQuantity'
          : zeroPrice ? 'nonPositiveUnitPrice'
          : undefined;
        if (!omitted) {
          rowsRead += 1;
          if (dropReason !== undefined) rowsDropped[dropReason] += 1;
          else {
            rowsKept += 1;
            let invoices = invoicesByCustomer.get(customerId!);
            if (invoices === undefined) invoicesByCustomer.set(customerId!, (invoices = new Set()));
            invoices.add(invoiceNo);
            options.onKeptRow?.(customerId!, invoiceNo);
            newestInvoiceTime = Math.max(newestInvoiceTime, invoiceTime);
          }
          if (customerId === null) dirt.rowsWithoutCustomerId += 1;
          if (isCancellation) dirt.cancellationRows += 1;
        }

        let invoiceCell: Cell = isCancellation ? invoiceNo : invoiceNumber;
        if (invoiceNoAsText) {
          invoiceCell = numberAsText(invoiceNo);
          dirt.invoiceNosAsText += 1;
        }
        let descriptionCell: Cell = product.description;
        if (random.chance(MISSING_DESCRIPTION_RATE)) {
          descriptionCell = null;
          dirt.missingDescriptions += 1;
        } else if (descriptionCell.trim() !== descriptionCell) {
          dirt.paddedDescriptions += 1;
        }
        let quantityCell: Cell = quantity;
        if (random.chance(QUANTITY_AS_TEXT_RATE)) {
          quantityCell = numberAsText(String(quantity));
          dirt.quantitiesAsText += 1;
        }
        let unitPriceCell: Cell = unitPrice;
        if (random.chance(UNIT_PRICE_AS_TEXT_RATE)) {
          unitPriceCell = numberAsText(String(unitPrice));
          dirt.unitPricesAsText += 1;
        }
        let customerCell: Cell = customerId;
        if (customer !== undefined && random.chance(CUSTOMER_ID_AS_TEXT_RATE) && customerId !== null) {
          // Exports that went through a float column write '17850.0'.
          customerCell = numberAsText(random.chance(0.3) ? `${customer.id}.0` : String(customer.id));
          dirt.customerIdsAsText += 1;
        }

        if (omitted) continue;
        if (rowsInSheet === rowsPerSheet) {
          // Excel's row limit: an invoice may go on on the next sheet, as in exports split by size.
          sheet.commit();
          sheet = addSheet();
          rowsInSheet = 0;
        }
        sheet
          .addRow([invoiceCell, product.stockCode, descriptionCell, quantityCell, invoiceDate, unitPriceCell, customerCell, country])
          .commit();
        rowsInSheet += 1;
        if (written % 1000 === 999) await waitForZipToCatchUp(sheet);
      }
    }
    sheet.commit();
    await Promise.race([writer.commit(), outputFailed]);
    if (!output.closed) await Promise.race([once(output, 'close'), outputFailed]);
    await rename(partialPath, outPath);
  } catch (error) {
    output.destroy();
    await rm(partialPath, { force: true });
    throw error;
  }
  const newestInvoiceDate = newestInvoiceTime > 0 ? new Date(newestInvoiceTime).toISOString().slice(0, 19) : undefined;
  const purchases: PurchaseSummary = { customers: invoicesByCustomer.size, low: 0, high: 0, purchases: 0 };
  for (const invoices of invoicesByCustomer.values()) {
    purchases.purchases += invoices.size;
    if (invoices.size > HIGH_FREQUENCY_ABOVE) purchases.high += 1;
    else purchases.low += 1;
  }
  return { rowsRead, rowsKept, rowsDropped, ...purchases, newestInvoiceDate, dirt, sheets };
}

/**
 * exceljs's streaming writer ignores backpressure: committed rows are pushed into the zip entry
 * whether or not deflate keeps up, and deflate only advances when this loop lets the event loop
 * run. Without this wait a million rows buffered about 250 MB of sheet XML.
 */
async function waitForZipToCatchUp(sheet: ExcelJS.Worksheet): Promise<void> {
  do {
    await new Promise((resolve) => setImmediate(resolve));
  } while ((zipBacklogBytes(sheet) ?? 0) > MAX_ZIP_BACKLOG_BYTES);
}

/**
 * Sheet XML written but not yet taken by the zip. exceljs exposes no such figure; this reads the
 * entry stream its worksheet writer pipes into (`stream.pipes[0]` on exceljs 4.4). Undefined if
 * that ever changes: generation then still works, it just stops bounding memory (a test watches).
 */
export function zipBacklogBytes(sheet: ExcelJS.Worksheet): number | undefined {
  const internals = sheet as unknown as { stream?: { pipes?: Array<{ _writableState?: { length?: unknown } }> } };
  const length = internals.stream?.pipes?.[0]?._writableState?.length;
  return typeof length === 'number' ? length : undefined;
}

/** Distinct CustomerIDs from the UCI range (12346 to 18287), or consecutive ones from 12346 on past it, each with a home country. */
/** The UCI export's CustomerID range, 12346 to 18287. */
const FIRST_CUSTOMER_ID = 12346;
const CUSTOMER_IDS = 18287 - FIRST_CUSTOMER_ID + 1;

function makeCustomers(random: SeededRandom, count: number): Customer[] {
  const ids = Array.from({ length: Math.max(count, CUSTOMER_IDS) }, (_, i) => FIRST_CUSTOMER_ID + i);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = random.integer(0, i);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids.slice(0, count).map((id) => ({ id, country: random.chance(0.9) ? 'United Kingdom' : random.pick(COUNTRIES) }));
}

/** Products with UCI-like stock codes (85123 or 85123A), descriptions (some with stray spaces) and prices. */
function makeProducts(random: SeededRandom, count: number): Product[] {
  const products: Product[] = [];
  for (let i = 0; i < count; i++) {
    const code = random.integer(10002, 90214);
    const stockCode = random.chance(0.15) ? `${code}${random.pick(['A', 'B', 'C', 'L', 'S'])}` : code;
    let description = `${random.pick(COLOURS)} ${random.pick(MOTIFS)} ${random.pick(ITEMS)}`;
    if (random.chance(0.2)) description = `${description} `;
    else if (random.chance(0.03)) description = ` ${description}`;
    // Most items cost a pound or two, a few much more: prices in pence, skewed towards cheap.
    const unitPrice = Math.round(29 + 1200 * random.next() ** 3) / 100;
    products.push({ stockCode, description, unitPrice });
  }
  return products;
}
