/**
 * Loads, cleans and aggregates a workbook in this process, with no servers: what
 * `segment run --dry-run` shows before anything is published or written.
 */
import { PurchaseCounter, type PurchaseSummary } from '../aggregation/purchase-counter';
import { cleanTransaction } from '../cleaning/clean-transaction';
import { countRow, emptyDataQualityReport, type DataQualityReport } from '../cleaning/data-quality-report';
import { DEFAULT_FREQUENCY_THRESHOLD } from '../segmentation/frequency-category';
import { isoOfSerial } from './decode-transaction-cell';
import { readTransactionRows, type ReadTransactionRowsOptions, type SkippedSheet } from './read-transaction-rows';

export interface PreviewWorkbookOptions extends Omit<ReadTransactionRowsOptions, 'onSheetSkipped'> {
  threshold?: number;
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
}

const TOP_CUSTOMERS = 10;

export async function previewWorkbook(options: PreviewWorkbookOptions): Promise<WorkbookPreview> {
  const { threshold = DEFAULT_FREQUENCY_THRESHOLD, ...readOptions } = options;
  const report = emptyDataQualityReport();
  const counter = new PurchaseCounter();
  const sheets: string[] = [];
  const skippedSheets: SkippedSheet[] = [];
  let newestInvoiceDate = 0;
  const batches = readTransactionRows({ ...readOptions, onSheetSkipped: (skipped) => skippedSheets.push(skipped) });
  for await (const { sheet, rows } of batches) {
    if (sheets.at(-1) !== sheet) sheets.push(sheet);
    for (const row of rows) {
      const result = cleanTransaction(row);
      countRow(report, result);
      if (result.kept) {
        counter.add(result.customerId, result.invoiceNo);
        if (row.invoiceDate !== null && row.invoiceDate > newestInvoiceDate) newestInvoiceDate = row.invoiceDate;
      }
    }
  }
  if (newestInvoiceDate > 0) report.newestInvoiceDate = isoOfSerial(newestInvoiceDate);
  const topCustomers = [...counter.purchaseCounts()]
    .map(([customerId, purchaseCount]) => ({ customerId, purchaseCount }))
    .sort((a, b) => b.purchaseCount - a.purchaseCount || a.customerId - b.customerId)
    .slice(0, TOP_CUSTOMERS);
  return { report, ...counter.summary(threshold), topCustomers, sheets, skippedSheets };
}
