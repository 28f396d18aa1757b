/**
 * The older design's default cleaning rules. A kept row contributes one (customer, invoice) pair;
 * the line's quantity and price only decide whether it is a real purchase.
 */
import type { TransactionRow } from '../workbook/read-transaction-rows';
import type { DropReason } from './drop-reason';

export type CleanedTransaction = { kept: true; customerId: number; invoiceNo: string } | { kept: false; reason: DropReason };

/** Cancellations are invoices numbered 'C' + the number of the invoice they cancel. */
const CANCELLATION_PREFIX = /^c/i;

export function cleanTransaction(row: Pick<TransactionRow, 'invoiceNo' | 'customerId' | 'quantity' | 'unitPrice'>): CleanedTransaction {
  if (row.customerId === null) return { kept: false, reason: 'missingCustomerId' };
  if (row.invoiceNo === null) return { kept: false, reason: 'missingInvoiceNo' };
  if (CANCELLATION_PREFIX.test(row.invoiceNo)) return { kept: false, reason: 'cancellation' };
  if (row.quantity === null || row.quantity <= 0) return { kept: false, reason: 'nonPositiveQuantity' };
  if (row.unitPrice === null || row.unitPrice <= 0) return { kept: false, reason: 'nonPositiveUnitPrice' };
  return { kept: true, customerId: row.customerId, invoiceNo: row.invoiceNo };
}
