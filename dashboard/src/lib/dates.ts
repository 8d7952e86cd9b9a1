/** ISO calendar dates (YYYY-MM-DD) handled as UTC days, so no time zone shifts a day. */

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export function isIsoDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

function toDayNumber(iso: string): number {
  return Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
}

function fromDayNumber(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(iso: string, days: number): string {
  return fromDayNumber(toDayNumber(iso) + days);
}

/** Number of days from start to end, both included. */
export function daysInclusive(start: string, end: string): number {
  return toDayNumber(end) - toDayNumber(start) + 1;
}

/** The period of the same length that ends the day before `start`. */
export function previousPeriod(start: string, end: string): { start: string; end: string } {
  const length = daysInclusive(start, end);
  return { start: addDays(start, -length), end: addDays(start, -1) };
}

/** "2026-03-20T09:00:00Z" -> "2026-03-20 09:00 UTC"; null -> "never". */
export function formatTimestamp(iso: string | null): string {
  if (!iso) return 'never';
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

/** Integers with thousands separators, e.g. counts of payments. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}
