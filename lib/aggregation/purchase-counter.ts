/**
 * Counts purchases in memory: a purchase is a distinct invoice, so a customer's PurchaseCount is
 * the number of distinct InvoiceNo among their kept rows, however many lines each invoice has.
 * Memory grows with the distinct (customer, invoice) pairs (18,532 for the UCI workbook), not with
 * rows. Used for the dry-run preview; the pipeline proper aggregates in MySQL.
 */
import { DEFAULT_FREQUENCY_THRESHOLD, frequencyCategory } from '../segmentation/frequency-category';

export interface PurchaseSummary {
  customers: number;
  low: number;
  high: number;
  /** Distinct (customer, invoice) pairs: the sum of every customer's PurchaseCount. */
  purchases: number;
}

export class PurchaseCounter {
  private readonly invoicesByCustomer = new Map<number, Set<string>>();
  private lastCustomerId = NaN;
  private lastInvoiceNo = '';

  add(customerId: number, invoiceNo: string): void {
    // An invoice's lines come one after another (22 kept rows per purchase in the UCI export):
    // the pair just counted needs no second look-up.
    if (customerId === this.lastCustomerId && invoiceNo === this.lastInvoiceNo) return;
    this.lastCustomerId = customerId;
    this.lastInvoiceNo = invoiceNo;
    let invoices = this.invoicesByCustomer.get(customerId);
    if (invoices === undefined) {
      invoices = new Set();
      this.invoicesByCustomer.set(customerId, invoices);
    }
    invoices.add(invoiceNo);
  }

  /** PurchaseCount per CustomerID. */
  purchaseCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [customerId, invoices] of this.invoicesByCustomer) counts.set(customerId, invoices.size);
    return counts;
  }

  summary(threshold: number = DEFAULT_FREQUENCY_THRESHOLD): PurchaseSummary {
    const summary: PurchaseSummary = { customers: 0, low: 0, high: 0, purchases: 0 };
    for (const invoices of this.invoicesByCustomer.values()) {
      summary.customers += 1;
      summary.purchases += invoices.size;
      if (frequencyCategory(invoices.size, threshold) === 'High Frequency') summary.high += 1;
      else summary.low += 1;
    }
    return summary;
  }
}
