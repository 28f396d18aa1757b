/**
 * Calendar days and wall-clock times in an IANA time zone, with nothing but Intl: what the
 * schedule commands need to say "the night of 2026-11-20 in Europe/London" and to show a slot the
 * way the people who run the schedule read their clocks.
 */
const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Throws a message naming the zone unless this Node knows it. */
export function checkTimeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone }).format(0);
  } catch {
    throw new Error(`"${timeZone}" is not an IANA time zone (such as UTC, Europe/London, America/New_York)`);
  }
  return timeZone;
}

/** `2026-11-25 02:00 UTC+1`: the slot as the schedule's own clock shows it, with the clock's offset that day. */
export function formatInZone(at: Date, timeZone: string): string {
  const parts = partsInZone(at, timeZone);
  const offset = parts.timeZoneName === 'GMT' ? '+0' : parts.timeZoneName.replace(/^GMT/, '');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} UTC${offset}`;
}

/** The calendar day `at` falls on in `timeZone`, as YYYY-MM-DD. */
export function dayInZone(at: Date, timeZone: string): string {
  const parts = partsInZone(at, timeZone);
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** The first instant of a calendar day (YYYY-MM-DD) in `timeZone`. */
export function startOfDayInZone(day: string, timeZone: string): Date {
  const match = DAY.exec(day);
  if (!match || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw new Error(`"${day}" is not a date of the form YYYY-MM-DD`);
  const midnightUtc = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Midnight in the zone is midnight UTC shifted by the zone's offset; the offset is taken again at
  // the result, in case a DST change falls between the two.
  let at = midnightUtc - offsetMs(new Date(midnightUtc), timeZone);
  at = midnightUtc - offsetMs(new Date(at), timeZone);
  return new Date(at);
}

/** The day after `day` (YYYY-MM-DD). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** How far the zone's wall clock is ahead of UTC at `at`, in ms. */
function offsetMs(at: Date, timeZone: string): number {
  const parts = partsInZone(at, timeZone);
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour) % 24, Number(parts.minute), Number(parts.second));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

function partsInZone(at: Date, timeZone: string): Record<string, string> {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'shortOffset',
  });
  return Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]));
}
