/**
 * When a schedule fires, asked of the Temporal server itself (ListScheduleMatchingTimes), so the
 * CLI never second-guesses its cron and time-zone rules: the slots a backfill will start, and the
 * nights a daylight-saving change gives no run or two.
 */
import type { Client } from '@temporalio/client';
import { msNumberToTs, tsToDate } from '@temporalio/common/lib/time';
import { dayInZone, nextDay } from './zoned-time';

export async function scheduledTimes(client: Client, scheduleId: string, from: Date, to: Date): Promise<Date[]> {
  const response = await client.workflowService.listScheduleMatchingTimes({
    namespace: client.options.namespace,
    scheduleId,
    startTime: msNumberToTs(from.getTime()),
    endTime: msNumberToTs(to.getTime()),
  });
  return (response.startTime ?? []).map(tsToDate);
}

export interface DisturbedNight {
  /** The calendar day in the schedule's zone. */
  day: string;
  runs: number;
}

/**
 * For a schedule that fires every day: the days (in its zone) with no run or more than one, which
 * is what a daylight-saving change does to a time it skips or repeats.
 */
export function disturbedNights(times: Date[], timeZone: string): DisturbedNight[] {
  if (times.length === 0) return [];
  const runs = new Map<string, number>();
  for (const time of times) runs.set(dayInZone(time, timeZone), (runs.get(dayInZone(time, timeZone)) ?? 0) + 1);
  const disturbed: DisturbedNight[] = [];
  const last = dayInZone(times[times.length - 1], timeZone);
  for (let day = dayInZone(times[0], timeZone); day <= last; day = nextDay(day)) {
    const count = runs.get(day) ?? 0;
    if (count !== 1) disturbed.push({ day, runs: count });
  }
  return disturbed;
}
