/**
 * A run's mode, window and invoice ledger figures in words: the same lines in the Temporal UI's
 * current details, `segment status` and `segment report`. Pure (runs in the workflow sandbox too).
 */
import type { RunMode } from './segmentation-input';
import type { RunInvoiceFigures } from './segmentation-progress';

const number = (value: number) => value.toLocaleString('en-US');

/** Mode, window and, in append mode, what the run did to the invoice ledger; the RFM as-of date and segment map. */
export function describeInvoices({ mode, window, invoices }: { mode: RunMode; window: string; invoices?: RunInvoiceFigures | null }): string[] {
  const day = (iso: string | null) => iso?.slice(0, 10) ?? '?';
  const lines = [`mode ${mode}${mode === 'append' ? ' (new transactions merged into the invoice ledger)' : ' (the files are the whole history)'}, window ${window}`];
  if (!invoices) return lines;
  if (invoices.windowStart) lines.push(`window from ${day(invoices.windowStart)}: ${number(invoices.outsideWindow)} invoices before it not counted`);
  if (invoices.mode === 'append') {
    const older = invoices.olderThanLedger ? `, ${number(invoices.olderThanLedger)} kept as a later export had them` : '';
    lines.push(
      `ledger: ${number(invoices.added ?? 0)} invoices added, ${number(invoices.replaced ?? 0)} replaced${older} (of ${number(invoices.invoices)} in the run's files); ` +
        `${number(invoices.ledgerInvoices ?? 0)} invoices from ${day(invoices.oldest)} to ${day(invoices.newest)}`,
    );
    if (invoices.night) lines.push(`no file for the night of ${day(invoices.night)}: the data date moves to that night`);
  }
  if (invoices.rfmRules) lines.push(`RFM as of ${invoices.asOf ?? '(no dated invoice)'}, segments from ${invoices.rfmRules}${invoices.rfmRulesSha256 ? ` (sha256 ${invoices.rfmRulesSha256.slice(0, 12)}…)` : ''}`);
  return lines;
}
