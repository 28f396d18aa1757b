/**
 * Loads, cleans and aggregates a workbook in this process, with no servers: what
 * `segment run --dry-run` shows before anything is published or written.
 */
import { PurchaseCounter, type PurchaseSummary } from '../aggregation/purchase-counter';
import { cleanTransaction } from '../cleaning/clean-transaction';
import { countRow, emptyDataQualityReport, type DataQualityReport } from '../cleaning/data-quality-report';
import { lineAmount } from '../aggregation/invoice-amount';
import { DEFAULT_FREQUENCY_THRESHOLD } from '../segmentation/frequency-category';
import { readRfmRules, type RfmRules } from '../segmentation/rfm-rules';
import { asOfAfter, assertAsOfNotBefore, centsOfAmount, centsText, scoreCustomers } from '../segmentation/rfm-scores';
import { isoOfSerial } from './decode-transaction-cell';
import { readTransactionRows, type ReadTransactionRowsOptions, type SkippedSheet } from './read-transaction-rows';

export interface PreviewWorkbookOptions extends Omit<ReadTransactionRowsOptions, 'onSheetSkipped'> {
  threshold?: number;
  /** The segment map (default: the repository's); the day RecencyDays counts to (null, the default: the day after the newest invoice). */
  rfm?: { rules: RfmRules; asOf: string | null };
}

/** The RFM segments a run of the workbook would publish: each segment's customers and Monetary. */
export interface RfmPreview {
  asOf: string | null;
  rules: string;
  segments: Array<{ segment: string; customers: number; monetary: string }>;
}

export interface CustomerPurchaseCount {
  customerId: number;
  purchaseCount: number;
}

export interface WorkbookPreview extends PurchaseSummary {
  report: DataQualityReport;
  /** The ten customers with the most purchases; ties go to the lower CustomerID. */
  topCustomers: CustomerPurchaseCount[];
  /** Sheets read, in tab order. */
  sheets?: string[];
  /** Sheets left out because they have no transactions header, and why. */
  skippedSheets?: SkippedSheet[];
  rfm: RfmPreview;
}

const TOP_CUSTOMERS = 10;

export async function previewWorkbook(options: PreviewWorkbookOptions): Promise<WorkbookPreview> {
  const { threshold = DEFAULT_FREQUENCY_THRESHOLD, rfm = { rules: readRfmRules('', null), asOf: null }, ...readOptions } = options;
  const report = emptyDataQualityReport();
  const counter = new PurchaseCounter();
  const sheets: string[] = [];
  const skippedSheets: SkippedSheet[] = [];
  let newestInvoiceDate = 0;
  // Per customer: the newest dated line (an Excel serial) and the exact sum of its lines' amounts.
  const values = new Map<number, { newest: number; amount: bigint }>();
  const batches = readTransactionRows({ ...readOptions, onSheetSkipped: (skipped) => skippedSheets.push(skipped) });
  for await (const { sheet, rows } of batches) {
    if (sheets.at(-1) !== sheet) sheets.push(sheet);
    for (const row of rows) {
      const result = cleanTransaction(row);
      countRow(report, result);
      if (result.kept) {
        counter.add(result.customerId, result.invoiceNo);
        if (row.invoiceDate !== null && row.invoiceDate > newestInvoiceDate) newestInvoiceDate = row.invoiceDate;
        const customer = values.get(result.customerId) ?? { newest: 0, amount: 0n };
        customer.amount += lineAmount(row.quantity!, row.unitPrice!);
        if (row.invoiceDate !== null && row.invoiceDate > customer.newest) customer.newest = row.invoiceDate;
        values.set(result.customerId, customer);
      }
    }
  }
  if (newestInvoiceDate > 0) report.newestInvoiceDate = isoOfSerial(newestInvoiceDate);
  const topCustomers = [...counter.purchaseCounts()]
    .map(([customerId, purchaseCount]) => ({ customerId, purchaseCount }))
    .sort((a, b) => b.purchaseCount - a.purchaseCount || a.customerId - b.customerId)
    .slice(0, TOP_CUSTOMERS);
  const asOf = rfm.asOf ?? (report.newestInvoiceDate ? asOfAfter(report.newestInvoiceDate) : null);
  const scored = scoreCustomers(
    [...counter.purchaseCounts()].map(([customerId, purchaseCount]) => {
      const { newest, amount } = values.get(customerId)!;
      // The calendar day as MySQL stores the date (to the second), which is what the pipeline counts from.
      return { customerId, purchaseCount, monetaryCents: centsOfAmount(amount), lastInvoiceDay: newest > 0 ? isoOfSerial(newest).slice(0, 10) : null };
    }),
    asOf,
    rfm.rules,
  );
  const fewestDays = scored.reduce<number | null>((fewest, { recencyDays }) => (recencyDays !== null && (fewest === null || recencyDays < fewest) ? recencyDays : fewest), null);
  assertAsOfNotBefore(asOf, fewestDays);
  const segments = rfm.rules.segments.map((segment) => {
    const members = scored.filter((customer) => customer.segment === segment);
    return { segment, customers: members.length, monetary: centsText(members.reduce((total, customer) => total + customer.monetaryCents, 0n)) };
  });
  return { report, ...counter.summary(threshold), topCustomers, sheets, skippedSheets, rfm: { asOf, rules: rfm.rules.source, segments } };
}
