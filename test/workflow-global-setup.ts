/**
 * The workflow tests' global set-up: fetches Temporal's time-skipping test server (a few jars from
 * Maven Central, once per STACK_DIR) before any test file starts, so files running side by side
 * never fetch it twice, and no test's own time pays for it. No server is started here: each test
 * file starts a test server of its own.
 */
import { buildProject } from './support/build-project';
import { installTimeSkippingServer } from './support/time-skipping-server';

export default async function globalSetup(): Promise<void> {
  buildProject(); // the workflow tests run the bundle the build makes
  await installTimeSkippingServer();
}

// `.ci/run` fetches it while the stack comes up: `npx tsx test/workflow-global-setup.ts`.
if (require.main === module) {
  globalSetup().catch((error: unknown) => {
    process.stderr.write(`could not fetch the time-skipping test server: ${String(error)}\n`);
    process.exitCode = 1;
  });
}
