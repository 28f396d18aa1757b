/**
 * One terminal progress bar per step (on stderr, so `--json` keeps stdout clean). Without a
 * terminal (CI, a pipe) it prints one line when a step finishes instead.
 */
import cliProgress from 'cli-progress';
import { STEP_TABLE, type StepName } from '../workflows/steps';
import type { StepBar } from './run-progress';

export class StepProgressBars {
  private readonly multibar?: cliProgress.MultiBar;
  private readonly bars = new Map<StepName, cliProgress.SingleBar>();
  private readonly reported = new Set<StepName>();

  constructor(private readonly interactive = Boolean(process.stderr.isTTY)) {
    if (interactive) {
      this.multibar = new cliProgress.MultiBar(
        {
          stream: process.stderr,
          format: ' {title} |{bar}| {percentage}% {detail}',
          hideCursor: true,
          clearOnComplete: false,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  update(steps: StepBar[]): void {
    for (const { step, value, total, detail } of steps) {
      const title = STEP_TABLE[step].title.padEnd(34);
      if (this.multibar) {
        let bar = this.bars.get(step);
        if (!bar) {
          bar = this.multibar.create(total, 0, { title, detail });
          this.bars.set(step, bar);
        }
        bar.setTotal(total);
        bar.update(value, { title, detail });
      } else if (value >= total && total > 0 && detail !== 'pending' && !this.reported.has(step)) {
        this.reported.add(step);
        process.stderr.write(`${STEP_TABLE[step].title}: done${detail ? ` (${detail})` : ''}\n`);
      }
    }
  }

  stop(): void {
    this.multibar?.stop();
  }
}
