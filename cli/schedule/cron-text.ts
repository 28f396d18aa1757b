/**
 * A schedule's calendar, as Temporal describes it (structured ranges), written back as the cron
 * expression a person typed: `0 2 * * *` reads better than a page of {start, end, step}.
 */
import { DAYS_OF_WEEK, MONTHS, type CalendarSpecDescription, type Range } from '@temporalio/client';

interface Field {
  name: 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek';
  min: number;
  max: number;
  /** Month and weekday ranges come as names. */
  toNumber?: (value: string) => number;
}

const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: 'dayOfMonth', min: 1, max: 31 };
const MONTH: Field = { name: 'month', min: 1, max: 12, toNumber: (month) => MONTHS.indexOf(month as never) + 1 };
const DAY_OF_WEEK: Field = { name: 'dayOfWeek', min: 0, max: 6, toNumber: (day) => DAYS_OF_WEEK.indexOf(day as never) };
const SECOND: Field = { name: 'second', min: 0, max: 59 };

/** `minute hour day-of-month month day-of-week`, with seconds in front only when they are not 0. */
export function cronText(calendar: CalendarSpecDescription): string {
  const fields = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK].map((field) => fieldText(calendar, field));
  const seconds = fieldText(calendar, SECOND);
  return (seconds === '0' ? fields : [seconds, ...fields]).join(' ');
}

/** Whether the calendar fires on every day (its day fields are all `*`): the nights DST can disturb. */
export function isDaily(calendar: CalendarSpecDescription): boolean {
  return [DAY_OF_MONTH, MONTH, DAY_OF_WEEK].every((field) => fieldText(calendar, field) === '*');
}

function fieldText(calendar: CalendarSpecDescription, field: Field): string {
  const ranges = (calendar[field.name] ?? []) as Array<Range<number | string>>;
  if (ranges.length === 0) return '*';
  return ranges
    .map((range) => {
      const start = toNumber(range.start, field);
      const end = toNumber(range.end ?? range.start, field);
      const step = range.step > 1 ? range.step : 1;
      const every = step > 1 ? `/${step}` : '';
      if (start === field.min && end === field.max) return `*${every}`;
      return start === end ? String(start) : `${start}-${end}${every}`;
    })
    .join(',');
}

function toNumber(value: number | string, field: Field): number {
  return typeof value === 'number' ? value : field.toNumber!(value);
}
