/**
 * Worker Versioning's settings (lib/config.ts, docs/upgrading.md): on only with a build id, so a
 * fresh `npm start` and the tests need no `set-current-version`; the deployment name has a default.
 */
import { loadConfig } from '../../lib/config';

test('without TEMPORAL_WORKER_BUILD_ID the worker is unversioned, whatever the deployment name', () => {
  expect(loadConfig({}).workerVersion).toBeUndefined();
  expect(loadConfig({ TEMPORAL_DEPLOYMENT_NAME: 'segmentation-eu', TEMPORAL_WORKER_BUILD_ID: '  ' }).workerVersion).toBeUndefined();
});

test('a build id makes the worker a version of the deployment, customer-segmentation unless named', () => {
  expect(loadConfig({ TEMPORAL_WORKER_BUILD_ID: '3f2c9e1' }).workerVersion).toEqual({ deploymentName: 'customer-segmentation', buildId: '3f2c9e1' });
  expect(loadConfig({ TEMPORAL_WORKER_BUILD_ID: ' 3f2c9e1 ', TEMPORAL_DEPLOYMENT_NAME: 'segmentation-eu' }).workerVersion).toEqual({ deploymentName: 'segmentation-eu', buildId: '3f2c9e1' });
});

test('a deployment name with a dot is refused: Temporal names a version deploymentName.buildId', () => {
  expect(() => loadConfig({ TEMPORAL_WORKER_BUILD_ID: '1', TEMPORAL_DEPLOYMENT_NAME: 'segmentation.eu' })).toThrow('TEMPORAL_DEPLOYMENT_NAME must not contain a dot');
});
