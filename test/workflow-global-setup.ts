/**
 * The workflow tests' global set-up: fetches Temporal's time-skipping test server (a few jars from
 * Maven Central, once per STACK_DIR) before any test file starts, so files running side by side
 * never fetch it twice, and no test's own time pays for it. No server is started here: each test
 * file starts a test server of its own.
 */
import { installTimeSkippingServer } from './support/time-skipping-server';

export default async function globalSetup(): Promise<void> {
  await installTimeSkippingServer();
}
