/**
 * Background work of the worker (the closed-run sweep, the database gauges, the version
 * routing): the first run `firstAfterMs` after the start (`prepare` makes the work then, loading
 * what it needs after polling began), then every `everyMs`, one at a time,
 * skipping the ticks that fall while one is under way.
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
    let busy = false;
    // A tick that falls while the work is still under way (a server that does not answer) is
    // skipped: queued, every tick of the outage would run back to back once it answers again.
    const once = () => {
      if (busy) return;
      busy = true;
      running = work()
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
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
