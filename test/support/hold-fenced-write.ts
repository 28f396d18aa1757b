/**
 * Holds a step of a run at one of its fenced writes (a classify commit: a batch read from Kafka,
 * not yet written) until the test releases it, so that a fault lands mid-step however fast the
 * step runs on the machine at hand: a step held there cannot finish. A fault landed at a moment
 * the test only observed can miss a quick step, or strike the next one instead.
 *
 * For in-process workers: pass `testHooks` to TestEnvironment.startWorker. One hold is armed at a time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { ActivityTestHooks, FencedStep } from '../../activities/step-attempt-fence';
import { progressQuery } from '../../workflows/segmentation-progress';

export interface FencedWriteHold {
  /** Resolves once the step waits at the write; throws if the run stops running first. */
  untilHeld(): Promise<void>;
  /** Lets the write go on (into whatever the fault left). */
  release(): void;
}

export function fencedWriteHolds(): {
  testHooks: ActivityTestHooks;
  /** Arms a hold of `step`'s write that comes after `writesBefore` of its others in this run. */
  hold(handle: WorkflowHandleWithFirstExecutionRunId, step: FencedStep, writesBefore?: number): FencedWriteHold;
} {
  let armed: { runId: string; step: FencedStep; writesBefore: number; reached: () => void; released: Promise<void> } | undefined;
  const testHooks: ActivityTestHooks = {
    async beforeFencedWrite(attempt) {
      const target = armed;
      if (!target || attempt.runId !== target.runId || attempt.step !== target.step) return;
      if (target.writesBefore-- > 0) return;
      armed = undefined;
      target.reached();
      await target.released;
    },
  };

  function hold(handle: WorkflowHandleWithFirstExecutionRunId, step: FencedStep, writesBefore = 0): FencedWriteHold {
    let reached!: () => void;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (reached = resolve));
    // The run's key, as its activities are given it: its first execution's run id.
    armed = { runId: handle.firstExecutionRunId, step, writesBefore, reached, released: new Promise((resolve) => (release = resolve)) };
    return {
      async untilHeld() {
        // A run that stopped before the write never gets there: asked twice a second.
        while (!(await Promise.race([held.then(() => true), sleep(500).then(() => false)]))) {
          const progress = await handle.query(progressQuery).catch(() => undefined); // undefined: no worker has started it yet
          if (progress && progress.status !== 'running') throw new Error(`the run is ${progress.status} before its ${step} step made ${writesBefore + 1} fenced writes`);
        }
      },
      release,
    };
  }
  return { testHooks, hold };
}
