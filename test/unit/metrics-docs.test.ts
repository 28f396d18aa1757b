/**
 * The README and docs/monitoring.md name every metric the workers serve (lib/metrics/
 * pipeline-metrics.ts METRIC_NAMES), and no metric that is not served: a renamed or added metric
 * fails here until both say it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { METRIC_NAMES } from '../../lib/metrics/pipeline-metrics';
import { TABLES } from '../../lib/tables';

const served: string[] = Object.values(METRIC_NAMES).sort();
const named = (doc: string) => {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, doc), 'utf8');
  // A histogram's series (`_bucket`, `_sum`, `_count`) are the histogram's own name.
  return [...new Set([...text.matchAll(/\bsegmentation_[a-z_]+[a-z]/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, '')))].sort();
};

test.each(['README.md', 'docs/monitoring.md'])('%s names exactly the metrics the workers serve', (doc) => {
  const names = named(doc);
  expect(served.filter((name) => !names.includes(name))).toEqual([]);
  // Names that are not metrics: the MySQL tables and the task-queue label Prometheus adds.
  const notMetrics = new Set<string>([...Object.values(TABLES), 'segmentation_task_queue']);
  expect(names.filter((name) => !served.includes(name) && !notMetrics.has(name))).toEqual([]);
});
