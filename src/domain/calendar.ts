/**
 * Working-time arithmetic on a calendar snapshot (docs/sla-clocks.md).
 *
 * Pure and self-contained: no Intl, no holiday data, no clock. Everything a count needs is in
 * the snapshot (the dates closed and open, the hours, and the time zone's UTC offsets over the
 * snapshot's years), so a workflow that carries its snapshot counts the same way on every
 * replay, whatever a later release ships as holiday or time-zone data.
 */

/** A span of working time within a local day, `"08:30"` to `"12:00"` (`"24:00"` ends at midnight). */
export interface WorkingHours { from: string; to: string }

/** The UTC offset in force before `until` (UTC ms); the last entry has `until: null`. */
export interface ZoneOffset { until: number | null; offsetMinutes: number }

export interface CalendarSnapshot {
  id: string;
  /** IANA name, for people; the arithmetic uses `zone`. */
  timezone: string;
  /** ISO weekdays that are working days: 1 = Monday ... 7 = Sunday. */
  weekdays: number[];
  workingHours: WorkingHours[];
  /** Local dates (YYYY-MM-DD) closed whatever the weekday: public holidays and the calendar's own. */
  closedDates: string[];
  /** Local dates open whatever the weekday: make-up working days (调休) and the calendar's own. */
  workingDates: string[];
  /**
   * Years whose holiday notice is in the snapshot. A count that runs through another year is
   * `provisional`. `null`: the calendar follows no holiday notice, so nothing is provisional.
   */
  holidayYears: number[] | null;
  zone: ZoneOffset[];
  /** Every instant counts (the built-in `always`): a due date is start + duration. */
  always?: boolean;
}

export interface DueDate { dueMs: number; provisional: boolean }

/** The duration does not fit in the calendar's working time of the next ten years. */
export class NoWorkingTimeError extends Error {
  constructor(readonly calendarId: string, fromMs: number) {
    super(`calendar ${calendarId} has not that much working time within ${MAX_DAYS_SEARCHED} days of ${new Date(fromMs).toISOString()}`);
    this.name = 'NoWorkingTimeError';
  }
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** A calendar with no working time left within this many days is a configuration error. */
const MAX_DAYS_SEARCHED = 3700;

interface CompiledCalendar {
  always: boolean;
  openWeekday: boolean[];
  /** Working ranges in minutes after local midnight, sorted. */
  ranges: [number, number][];
  closed: Set<number>;
  open: Set<number>;
  years: Set<number> | null;
  zone: ZoneOffset[];
}

const compiled = new WeakMap<CalendarSnapshot, CompiledCalendar>();

/** `"08:30"` -> 510; null when it is not a time of day (`"24:00"` is allowed as the end of a day). */
export function minutesOfDay(hm: string): number | null {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(hm);
  if (!m) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 1440 ? minutes : null;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumber(date: string): number {
  return Math.floor(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS);
}

function compile(cal: CalendarSnapshot): CompiledCalendar {
  const hit = compiled.get(cal);
  if (hit) return hit;
  const openWeekday = Array.from({ length: 8 }, (_, i) => cal.weekdays.includes(i));
  const ranges = cal.workingHours
    .map((h) => [minutesOfDay(h.from), minutesOfDay(h.to)] as [number | null, number | null])
    .filter((r): r is [number, number] => r[0] !== null && r[1] !== null && r[0] < r[1])
    .sort((a, b) => a[0] - b[0]);
  const result: CompiledCalendar = {
    always: cal.always === true,
    openWeekday,
    ranges,
    closed: new Set(cal.closedDates.map(dayNumber)),
    open: new Set(cal.workingDates.map(dayNumber)),
    years: cal.holidayYears ? new Set(cal.holidayYears) : null,
    zone: cal.zone.length ? cal.zone : [{ until: null, offsetMinutes: 0 }],
  };
  compiled.set(cal, result);
  return result;
}

function offsetAt(zone: ZoneOffset[], utcMs: number): number {
  for (const z of zone) if (z.until === null || utcMs < z.until) return z.offsetMinutes;
  return zone[zone.length - 1].offsetMinutes;
}

/** The instant of local wall time `minutes` on local day `day`; in a spring-forward gap, the instant after it. */
function instantOf(zone: ZoneOffset[], day: number, minutes: number): number {
  const local = day * DAY_MS + minutes * MINUTE_MS;
  if (zone.length === 1) return local - zone[0].offsetMinutes * MINUTE_MS;
  const first = local - offsetAt(zone, local) * MINUTE_MS;
  const offset = offsetAt(zone, first);
  const utc = local - offset * MINUTE_MS;
  const check = offsetAt(zone, utc);
  return check === offset ? utc : local - check * MINUTE_MS;
}

function localDay(zone: ZoneOffset[], utcMs: number): number {
  return Math.floor((utcMs + offsetAt(zone, utcMs) * MINUTE_MS) / DAY_MS);
}

function isWorkingDay(c: CompiledCalendar, day: number): boolean {
  if (c.open.has(day)) return true;
  if (c.closed.has(day)) return false;
  // 1970-01-01 was a Thursday (ISO 4).
  return c.openWeekday[(((day % 7) + 7 + 3) % 7) + 1];
}

function yearOf(day: number): number {
  return new Date(day * DAY_MS).getUTCFullYear();
}

/** Whether counting through `day` relies on a year whose holiday notice the snapshot lacks. */
function unknownYear(c: CompiledCalendar, day: number, memo: { day: number; year: number }): boolean {
  if (!c.years) return false;
  // Years change rarely along a count: recompute only past the end of the memoised year.
  if (day >= memo.day) {
    memo.year = yearOf(day);
    memo.day = dayNumber(`${memo.year + 1}-01-01`);
  }
  return !c.years.has(memo.year);
}

/**
 * The instant at which `durationMs` of working time, counted from `fromMs`, is used up.
 * Counting stops exactly at the end of a working span when the time runs out there (due at
 * 17:30, not at 08:30 the next working day).
 */
export function dueAfterWorkingTime(cal: CalendarSnapshot, fromMs: number, durationMs: number): DueDate {
  const c = compile(cal);
  if (c.always || durationMs <= 0) return { dueMs: fromMs + Math.max(0, durationMs), provisional: false };
  let remaining = durationMs;
  let provisional = false;
  const memo = { day: -Infinity, year: 0 };
  const firstDay = localDay(c.zone, fromMs);
  for (let day = firstDay; day < firstDay + MAX_DAYS_SEARCHED; day++) {
    if (unknownYear(c, day, memo)) provisional = true;
    if (!isWorkingDay(c, day)) continue;
    for (const [from, to] of c.ranges) {
      const end = instantOf(c.zone, day, to);
      if (end <= fromMs) continue;
      const start = Math.max(instantOf(c.zone, day, from), fromMs);
      const available = end - start;
      if (remaining <= available) return { dueMs: start + remaining, provisional };
      remaining -= available;
    }
  }
  throw new NoWorkingTimeError(cal.id, fromMs);
}

/** Working time between two instants (0 when `toMs` is not after `fromMs`): how long a hold stopped the clock. */
export function workingTimeBetween(cal: CalendarSnapshot, fromMs: number, toMs: number): number {
  if (toMs <= fromMs) return 0;
  const c = compile(cal);
  if (c.always) return toMs - fromMs;
  let total = 0;
  const lastDay = localDay(c.zone, toMs);
  for (let day = localDay(c.zone, fromMs); day <= lastDay; day++) {
    if (!isWorkingDay(c, day)) continue;
    for (const [from, to] of c.ranges) {
      const start = Math.max(instantOf(c.zone, day, from), fromMs);
      const end = Math.min(instantOf(c.zone, day, to), toMs);
      if (end > start) total += end - start;
    }
  }
  return total;
}

/** The built-in `always` calendar as a snapshot: what every case without a calendar counts on. */
export const ALWAYS_SNAPSHOT: CalendarSnapshot = Object.freeze({
  id: 'always', timezone: 'UTC', weekdays: [1, 2, 3, 4, 5, 6, 7], workingHours: [{ from: '00:00', to: '24:00' }],
  closedDates: [], workingDates: [], holidayYears: null, zone: [{ until: null, offsetMinutes: 0 }], always: true,
}) as CalendarSnapshot;
