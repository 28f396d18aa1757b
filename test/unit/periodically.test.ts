/** The worker's background work (workers/periodically.ts) on fake timers: one at a time, and no burst after a stuck one. */
import { periodically } from '../../workers/periodically';

afterEach(() => jest.useRealTimers());

test('ticks that fall while the work is stuck are skipped, not queued: once it is unstuck, the work runs again at the next tick only', async () => {
  jest.useFakeTimers();
  let calls = 0;
  let unstick: () => void = () => undefined;
  const stuck = new Promise<void>((resolve) => {
    unstick = resolve;
  });
  const periodic = periodically(1_000, () => ({
    everyMs: 15_000,
    work: async () => {
      calls += 1;
      // The first refresh waits on a server that does not answer (for ten minutes, here).
      if (calls === 1) await stuck;
    },
  }));

  await jest.advanceTimersByTimeAsync(1_000);
  expect(calls).toBe(1);
  await jest.advanceTimersByTimeAsync(10 * 60_000);
  expect(calls).toBe(1);

  unstick();
  await jest.advanceTimersByTimeAsync(0);
  // Not the forty refreshes that fell meanwhile, back to back.
  expect(calls).toBe(1);
  await jest.advanceTimersByTimeAsync(15_000);
  expect(calls).toBe(2);

  const stopped = periodic.stop();
  await jest.advanceTimersByTimeAsync(0);
  await stopped;
  await jest.advanceTimersByTimeAsync(60_000);
  expect(calls).toBe(2);
});
