/**
 * `npm test` needs nothing else: this brings up the real Temporal, Kafka and MySQL (installing
 * them on a fresh machine) before any test runs. The servers stay up afterwards, like after
 * `segment stack up`; `segment stack down` stops them.
 */
import { stackUp } from '../infra/stack/stack';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  await stackUp([], (line) => process.stderr.write(`  ${line}\n`));
  process.stderr.write(`  stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}
