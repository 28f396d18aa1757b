/** Fanning a step out into several activities, inside workflow code. */
import { CancellationScope } from '@temporalio/workflow';

/**
 * Runs the activities side by side, at most `inFlight` at once (the next starts as one ends); if
 * one fails, the others are cancelled (and awaited) and no further one starts before the failure
 * goes up.
 */
export async function inParallel<T>(tasks: Array<() => Promise<T>>, inFlight = Infinity): Promise<T[]> {
  const scope = new CancellationScope();
  // An activity's failure reaches the workflow as an Error (ActivityFailure, CancelledFailure).
  let firstError: Error | undefined;
  const fail = (error: Error) => {
    if (firstError === undefined) {
      firstError = error;
      scope.cancel();
    }
  };
  if (tasks.length <= inFlight) {
    // All at once, as runs started before the cap did (their histories replay through here).
    const running = await scope.run(async () => tasks.map((task) => task()));
    await Promise.all(running.map((promise) => promise.catch(fail)));
    if (firstError !== undefined) throw firstError;
    return await Promise.all(running);
  }
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length && firstError === undefined) {
      const index = next++;
      await scope.run(tasks[index]).then((result) => (results[index] = result), fail);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  if (firstError !== undefined) throw firstError;
  return results;
}
