/**
 * Background work of the worker (the closed-run sweep, the database gauges, the version
 * routing): the first run `firstAfterMs` after the start (`prepare` makes the work then, loading
 * what it needs after polling began), then every `everyMs`, one at a time.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface Periodic {
  /** Stops the timer and waits for the work under way, but not for long. */
  stop(): Promise<void>;
}

export function periodically(firstAfterMs: number, prepare: () => { everyMs: number; work: () => Promise<void> }): Periodic {
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const start = setTimeout(() => {
    const { everyMs, work } = prepare();
    const once = () => {
      running = running.then(work).catch(() => undefined);
    };
    once();
    timer = setInterval(once, everyMs);
    timer.unref();
  }, firstAfterMs);
  start.unref();
  return {
    // Shutdown waits for work under way, but not for long: a sweep stuck on a server that is
    // down must not hold the worker's exit.
    async stop() {
      clearTimeout(start);
      clearInterval(timer);
      await Promise.race([running, delay(5_000, undefined, { ref: false })]);
    },
  };
}
