/**
 * A run's window: `all`, or the last N days or months up to its data date. `90d` holds the 90
 * calendar days that end with the data date's day; `12m` the days after the same day twelve
 * months before (the 10th of December 2010 to the 9th of December 2011 for a data date on the 9th
 * of December 2011; a day the month lacks is its last day). Dates are the workbook's wall-clock
 * times, with no zone, as ISO text.
 */
export type InvoiceWindow = string;

/** The first instant inside the window (ISO, no zone), or null: every invoice counts. */
export function windowStart(window: InvoiceWindow, dataDate: string | null): string | null {
  if (window === 'all' || dataDate === null) return null;
  const length = Number(window.slice(0, -1));
  const day = new Date(`${dataDate.slice(0, 10)}T00:00:00Z`);
  if (window.endsWith('d')) {
    day.setUTCDate(day.getUTCDate() - (length - 1));
  } else {
    const target = day.getUTCMonth() - length;
    const dayOfMonth = day.getUTCDate();
    day.setUTCDate(1);
    day.setUTCMonth(target);
    const lastDay = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 0)).getUTCDate();
    day.setUTCDate(Math.min(dayOfMonth, lastDay) + 1);
  }
  return day.toISOString().slice(0, 19);
}
