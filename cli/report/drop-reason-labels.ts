/** What each cleaning rule means, as the report's readers say it. */
import type { DropReason } from '../../lib/cleaning/drop-reason';

export const DROP_REASON_LABELS: Record<DropReason, string> = {
  missingCustomerId: 'no CustomerID',
  missingInvoiceNo: 'no InvoiceNo',
  cancellation: 'cancellation (InvoiceNo starts with C)',
  nonPositiveQuantity: 'Quantity not above 0',
  nonPositiveUnitPrice: 'UnitPrice not above 0',
};
