/** The run summary shown in the Temporal UI's "current details" (Temporal markdown). */
import { STEPS, STEP_TITLES, type SegmentationProgress } from './segmentation-progress';

const MARK = { pending: '·', running: '▶', completed: '✓', failed: '✗' } as const;
const number = (value: number) => value.toLocaleString('en-US');

export function describeProgress(progress: SegmentationProgress): string {
  const lines = [`**Customer segmentation** — ${progress.status}`, ''];
  for (const step of STEPS) {
    const { status, seconds, counts, runs } = progress.steps[step];
    const figures = counts
      ? Object.entries(counts)
          .map(([name, value]) => `${name} ${number(value)}`)
          .join(', ')
      : '';
    const time = seconds !== undefined ? ` in ${seconds.toFixed(1)}s` : '';
    const again = runs !== undefined && runs > 1 ? ` (run ${runs} times)` : '';
    lines.push(`- ${MARK[status]} ${STEP_TITLES[step]}${time}${again}${figures ? `: ${figures}` : ''}`);
  }
  for (const file of progress.files ?? []) {
    lines.push('', `Read \`${file.file}\` (${number(file.size)} bytes, sha256 ${file.sha256.slice(0, 12)}…; sheets ${file.sheets.join(', ')})`);
  }
  if (progress.summary) {
    const { customers, low, high, published, supersededBy } = progress.summary;
    lines.push('', `${number(customers)} customers: ${number(low)} Low Frequency, ${number(high)} High Frequency`);
    lines.push(published ? 'Published to customer_segments.' : `Not published: run ${supersededBy} was started later and has published.`);
  }
  if (progress.status === 'awaiting-operator' && progress.failure) {
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
