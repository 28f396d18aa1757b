/**
 * A run's data date: the date of its data, not of its start. It orders publication (newest data
 * wins, lib/publication/published-run.ts) and ends the run's window.
 */
import type { SegmentationProgress } from './segmentation-progress';

/**
 * The data date, which orders publication and ends the window: the aggregate step's (append: the
 * ledger's newest invoice after the merge), or for runs from before it the load's newest kept invoice.
 */
export function dataDateOf(progress: Pick<SegmentationProgress, 'invoices' | 'dataQuality'>): string | null {
  return progress.invoices ? progress.invoices.dataDate : (progress.dataQuality?.newestInvoiceDate ?? null);
}
