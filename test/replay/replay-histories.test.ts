/**
 * Recorded histories of real runs replay against today's workflow code. A change that would make
 * the workflow non-deterministic (a step added, removed or reordered without a patch) fails here
 * before it can break runs in flight. Record new fixtures with test/replay/record-history.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { loadWorkflowBundle } from '../../workers/workflow-bundle';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'histories');
const fixtures = fs.readdirSync(FIXTURES).filter((name) => name.endsWith('.json'));

test('there are recorded histories to replay', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(2);
});

test.each(fixtures)('%s replays without non-determinism', async (name) => {
  const history = JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
  // The same bundle the workers run (rebuilt first if the workflow code changed since).
  await Worker.runReplayHistory({ workflowBundle: await loadWorkflowBundle() }, history, name.replace(/\.json$/, ''));
});
