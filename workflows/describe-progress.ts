/** The run summary shown in the Temporal UI's "current details" (Temporal markdown). */
import type { AuditCheckResult } from '../lib/audit/audit-checks';
import { AuditHeldError } from '../lib/errors';
import { dataDateOf } from './data-date';
import { describeInvoices } from './describe-invoices';
import type { SegmentationProgress } from './segmentation-progress';
import { STEPS, STEP_TABLE } from './steps';

const MARK = { pending: '·', running: '▶', completed: '✓', failed: '✗' } as const;
const CHECK_MARK: Record<AuditCheckResult['outcome'], string> = { passed: '✓', failed: '✗', skipped: '·', off: '–' };
const number = (value: number) => value.toLocaleString('en-US');

export function describeProgress(progress: SegmentationProgress): string {
  const lines = [`**Customer segmentation** — ${progress.status}`, ''];
  // A held run's question comes first: it is what the operator opened the page for.
  if (progress.status === 'awaiting-operator' && progress.failure?.type === AuditHeldError.type) lines.push(...describeHold(progress), '');
  for (const step of STEPS) {
    const { status, seconds, counts, runs } = progress.steps[step];
    const figures = counts
      ? Object.entries(counts)
          .map(([name, value]) => `${name} ${number(value)}`)
          .join(', ')
      : '';
    const time = seconds !== undefined ? ` in ${seconds.toFixed(1)}s` : '';
    const again = runs !== undefined && runs > 1 ? ` (run ${runs} times)` : '';
    lines.push(`- ${MARK[status]} ${STEP_TABLE[step].title}${time}${again}${figures ? `: ${figures}` : ''}`);
  }
  for (const file of progress.files ?? []) {
    lines.push('', `Read \`${file.file}\` (${number(file.size)} bytes, sha256 ${file.sha256.slice(0, 12)}…; sheets ${file.sheets.join(', ')})`);
  }
  for (const file of progress.missingFiles ?? []) lines.push('', `No export: \`${file}\` is not there (append mode: the ledger is counted as it is, its window re-applied)`);
  const dataDate = dataDateOf(progress);
  if (dataDate) lines.push('', `Data date (${progress.invoices?.mode === 'append' ? "the ledger's newest invoice after the merge" : 'newest kept invoice'}): ${dataDate.replace('T', ' ')}`);
  if (progress.invoices) lines.push('', ...describeInvoices({ ...progress.invoices, invoices: progress.invoices }).map((line) => `${line[0].toUpperCase()}${line.slice(1)}.`));
  if (progress.audit) lines.push('', ...describeAudit(progress));
  if (progress.summary) {
    const { customers, low, high, published, supersededBy } = progress.summary;
    lines.push('', `${number(customers)} customers: ${number(low)} Low Frequency, ${number(high)} High Frequency`);
    lines.push(published ? 'Published to customer_segments.' : `Not published: run ${supersededBy} holds newer data (or the same, started later) and stays published.`);
  }
  if (progress.status === 'awaiting-operator' && progress.failure?.type === AuditHeldError.type) {
    // Said at the top.
  } else if (progress.status === 'awaiting-operator' && progress.failure) {
    const { step, type, message, retryFrom } = progress.failure;
    lines.push(
      '',
      `**Step ${step} failed:** ${type}: ${message}`,
      '',
      `Waiting for an operator until ${progress.awaitingOperatorUntil}: send the Update \`operatorDecision\` with ` +
        `\`{"action": "retry"}\` (runs ${retryFrom} and the later steps again) or \`{"action": "abort"}\`, ` +
        `or run \`npx segment retry ${progress.workflowId}\` / \`npx segment abort ${progress.workflowId}\`.`,
    );
  } else if (progress.error) {
    lines.push('', `**Error:** ${progress.error}`);
  }
  return lines.join('\n');
}

function describeHold(progress: SegmentationProgress): string[] {
  const id = progress.workflowId;
  const failed = (progress.audit?.checks ?? []).filter((check) => check.outcome === 'failed');
  return [
    `**Held by its audit:** nothing was published; \`customer_segments\` still holds run ${progress.audit?.comparedWith ?? '(none)'}.`,
    '',
    ...failed.map((check) => `- ✗ ${check.name}: ${check.summary}`),
    '',
    `Waiting for an operator until ${progress.awaitingOperatorUntil}: send the Update \`operatorDecision\` with ` +
      '`{"action": "approve", "by": "you", "reason": "why"}` (publish it as it is), `{"action": "retry"}` (audit again) or ' +
      `\`{"action": "abort"}\` (end it, publish nothing), or run \`npx segment approve ${id} --by NAME --reason TEXT\` / \`npx segment abort ${id}\`.`,
  ];
}

/** Each check with its figures: a cross for the ones that failed. */
function describeAudit(progress: SegmentationProgress): string[] {
  const audit = progress.audit!;
  if (audit.superseded) return [`**Audit:** not compared: run ${audit.comparedWith} holds newer data and stays published.`];
  if (audit.outcome === 'off') return ['**Audit:** off for this run (`--no-audit`).'];
  const against = audit.comparedWith ? `against published run ${audit.comparedWith}` : 'nothing published yet';
  const lines = [`**Audit** (${against}): ${audit.outcome}`, ''];
  for (const check of audit.checks) lines.push(`- ${CHECK_MARK[check.outcome]} ${check.name}: ${check.summary}`);
  if (audit.approval) {
    const { by, reason, at } = audit.approval;
    lines.push(`- approved by ${by ?? 'an operator'} at ${at}${reason ? `: ${reason}` : ''}`);
  }
  return lines;
}
