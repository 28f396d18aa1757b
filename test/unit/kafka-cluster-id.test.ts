/**
 * The local Kafka's cluster id goes to `kafka-storage format -t ID`: one that starts with '-' is
 * taken for an option and the broker is never formatted (a fresh machine's CI failed on one).
 */
import { newClusterId } from '../../infra/stack/kafka-broker';

test('a cluster id is 22 base64url characters and never starts with "-"', () => {
  // One random id in 64 would start with '-': 20,000 of them all but surely include such draws.
  const ids = Array.from({ length: 20_000 }, newClusterId);
  for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  expect(new Set(ids).size).toBe(ids.length);
});
