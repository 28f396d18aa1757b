/**
 * The integration and outage tests' global set-up: the real Temporal, Kafka and MySQL must
 * already answer. This only checks (a few seconds at most) and fails at once, saying how to start
 * them; it never installs or starts a server, so a run of the unit or workflow tests, which
 * never come here, needs none. `.ci/run` and `npm start` bring the stack up first.
 *
 * Anything else the integration tests need built before they start belongs here too, in one place.
 */
import { stackStatus } from '../infra/stack/stack';
import { buildProject } from './support/build-project';

export default async function globalSetup(): Promise<void> {
  buildProject();
  const down = (await stackStatus()).filter((server) => !server.up);
  if (down.length === 0) return;
  const lines = down.map((server) => `  ${server.name} at ${server.address}: ${server.problem ?? 'not answering'}`);
  throw new Error(
    [
      'The integration tests need the real Temporal, Kafka and MySQL, and these do not answer:',
      ...lines,
      'Start them with `npx segment stack up` (it installs them on a fresh machine), then run the tests again.',
    ].join('\n'),
  );
}
