/** The run summary shown in the Temporal UI's "current details" (Temporal markdown). */
import { STEPS, STEP_TITLES, type SegmentationProgress } from './segmentation-progress';

const MARK = { pending: '·', running: '▶', completed: '✓', failed: '✗' } as const;

export function describeProgress(progress: SegmentationProgress): string {
  const lines = [`**Customer segmentation** — ${progress.status}`, ''];
  for (const step of STEPS) {
    const { status, seconds, counts } = progress.steps[step];
    const figures = counts
      ? Object.entries(counts)
          .map(([name, value]) => `${name} ${value.toLocaleString('en-US')}`)
          .join(', ')
      : '';
    const time = seconds !== undefined ? ` in ${seconds.toFixed(1)}s` : '';
    lines.push(`- ${MARK[status]} ${STEP_TITLES[step]}${time}${figures ? `: ${figures}` : ''}`);
  }
  if (progress.summary) {
    const { customers, low, high } = progress.summary;
    lines.push('', `${customers.toLocaleString('en-US')} customers: ${low.toLocaleString('en-US')} Low Frequency, ${high.toLocaleString('en-US')} High Frequency`);
  }
  if (progress.error) lines.push('', `**Error:** ${progress.error}`);
  return lines.join('\n');
}
