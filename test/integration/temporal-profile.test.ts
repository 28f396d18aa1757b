/**
 * The worker and the `segment` CLI reach Temporal through a TOML profile file alone (the one the
 * `temporal` CLI reads), with TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE unset: a whole run goes
 * through, and a profile that is not in the file stops the CLI at once, naming it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { generateWorkbook, type GeneratedWorkbook } from '../../lib/workbook/generate-workbook';
import { createSegmentationWorker, type SegmentationWorker } from '../../workers/segmentation-worker';
import { segment, segmentExit } from '../support/segment-cli';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment';

jest.setTimeout(300_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-profile-'));
const profileFile = path.join(dataDir, 'temporal.toml');
let env: TestEnvironment;
let profileEnv: NodeJS.ProcessEnv;
let worker: { worker: SegmentationWorker; running: Promise<void> } | undefined;
let expected: GeneratedWorkbook;

beforeAll(async () => {
  env = await createTestEnvironment('temporal_profile', { dataDir });
  fs.writeFileSync(
    profileFile,
    ['[profile.pipeline]', `address = "${env.config.temporalAddress}"`, `namespace = "${env.config.temporalNamespace}"`, ''].join('\n'),
  );
  // Blank is unset: only the profile says where Temporal is.
  profileEnv = { ...env.env, TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '', TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: 'pipeline' };
  const config = loadConfig(profileEnv);
  const started = await createSegmentationWorker(config);
  worker = { worker: started, running: started.run() };
  expected = await generateWorkbook({ outPath: path.join(dataDir, 'profile.xlsx'), rows: 3_000, seed: 11 });
});

afterAll(async () => {
  if (worker?.worker.worker.getState() === 'RUNNING') worker.worker.worker.shutdown();
  await worker?.running;
  await env?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a run started by the CLI and worked by the worker, both connected through the profile', async () => {
  const { lastJson } = await segment(['run', '--file', path.join(dataDir, 'profile.xlsx'), '--wait', '--json'], profileEnv);
  expect(lastJson).toMatchObject({ status: 'completed', rowsRead: expected.rowsRead, customers: expected.customers, low: expected.low, high: expected.high });
});

test('a profile the file does not have stops the CLI at once, naming it', async () => {
  const { code, stderr } = await segmentExit(['status', 'no-such-run'], { ...profileEnv, TEMPORAL_PROFILE: 'prod' });
  expect(code).not.toBe(0);
  expect(stderr).toMatch(/Profile 'prod' not found/);
});
