/** The log line a versioned worker writes for its deployment's routing (workers/version-routing.ts); the integration test sees two of them from real workers. */
import { versionRoutingLine } from '../../workers/version-routing';

const version = { deploymentName: 'customer-segmentation', buildId: '3f2c9e1' };

test('current, ramping and another current are information; none current is a warning with the command', () => {
  expect(versionRoutingLine(version, { kind: 'current' })).toEqual({ warn: false, line: 'Worker Deployment "customer-segmentation": this build (3f2c9e1) is current; new runs come to it' });
  expect(versionRoutingLine(version, { kind: 'ramping', percent: 10, current: 'a1b2c3d' }).line).toBe(
    'Worker Deployment "customer-segmentation": this build (3f2c9e1) is ramping; 10% of new runs come to it, the others go to a1b2c3d',
  );
  expect(versionRoutingLine(version, { kind: 'ramping', percent: 10, current: null }).line).toContain('the others go to unversioned workers');
  expect(versionRoutingLine(version, { kind: 'other-current', current: 'a1b2c3d', ramping: null }).warn).toBe(false);
  const none = versionRoutingLine(version, { kind: 'none-current' });
  expect(none.warn).toBe(true);
  expect(none.line).toContain('temporal worker deployment set-current-version --deployment-name customer-segmentation --build-id 3f2c9e1');
});
