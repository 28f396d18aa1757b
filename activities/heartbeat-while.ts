/**
 * Keeps an activity's heartbeat going while one long call (a big SQL statement) runs: Temporal
 * then knows the worker is alive, and a cancel reaches the activity. Without it a statement
 * slower than the heartbeat timeout would be retried while the first one still holds its locks.
 */
import { Context } from '@temporalio/activity';

const EVERY_MS = 5_000;

export async function heartbeatWhile<T>(work: Promise<T>, details?: () => unknown): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(details?.()), EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
