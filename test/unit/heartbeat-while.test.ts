/**
 * heartbeatWhile (activities/heartbeat-while.ts) in a mocked activity context, on jest's fake
 * clock: it beats with the details it is given while the call runs, stops when the call ends, and
 * stops at atMostMs for a call that never answers, so the attempt can time out.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeatWhile } from '../../activities/heartbeat-while';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** Runs heartbeatWhile on a call that answers only when `answer` is called; the beats as they came. */
function watched(atMostMs?: number) {
  const activity = new MockActivityEnvironment();
  const beats: unknown[] = [];
  activity.on('heartbeat', (details: unknown) => beats.push(details));
  let answer!: () => void;
  const call = new Promise<string>((resolve) => (answer = () => resolve('answered')));
  let checkpoint = 1;
  const result = activity.run(() => heartbeatWhile(call, () => ({ checkpoint }), { atMostMs }));
  return { beats, answer, result, moveTo: (next: number) => (checkpoint = next) };
}

test('beats every 5 s with the details as they are at each beat, and stops once the call answers', async () => {
  const { beats, answer, result, moveTo } = watched();
  await jest.advanceTimersByTimeAsync(10_000);
  moveTo(2);
  await jest.advanceTimersByTimeAsync(5_000);
  expect(beats).toEqual([{ checkpoint: 1 }, { checkpoint: 1 }, { checkpoint: 2 }]);
  answer();
  expect(await result).toBe('answered');
  await jest.advanceTimersByTimeAsync(60_000);
  expect(beats).toHaveLength(3);
});

test('a call that never answers is beaten only until atMostMs, so its attempt then looks dead', async () => {
  const { beats, answer, result } = watched(180_000);
  await jest.advanceTimersByTimeAsync(180_000);
  const beatenFor = beats.length;
  expect(beatenFor).toBe(35); // at 5 s, 10 s, ... 175 s
  await jest.advanceTimersByTimeAsync(3_600_000);
  expect(beats).toHaveLength(beatenFor);
  answer(); // (the call still ends as it ends)
  expect(await result).toBe('answered');
});
