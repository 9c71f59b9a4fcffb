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
/**
 * Globals read once: in a vm context (the Temporal workflow sandbox, a jest test) every read
 * of a global such as `Math` or `Infinity` goes through the context's interceptor, which made
 * the day loops 30 times slower there than in plain Node.
 */
const { max, min, floor } = Math;
const FOREVER = Number.POSITIVE_INFINITY;
const NEVER = Number.NEGATIVE_INFINITY;

interface CompiledCalendar {
  always: boolean;
  openWeekday: boolean[];
  /**
   * Working ranges in minutes after local midnight, sorted, flat: [from0, to0, from1, to1, ...].
   * Plain numbers in an array made here, read by index: the hot loops must not iterate
   * arrays from another realm (a workflow input, a test context), which defeats V8's fast path.
   */
  ranges: number[];
  closed: Set<number>;
  open: Set<number>;
  years: Set<number> | null;
  zone: Zone;
  /** Working time of a whole working day (exact when the zone's offset does not change that day). */
  workingDayMs: number;
  /** Built on first use (tableFor). */
  table: DayTable | null;
}

interface DayTable { first: number; cum: number[] }

/** A snapshot's offsets, copied into arrays of this realm: `until[i]` (Infinity for the last) and `offset[i]` in ms. */
interface Zone { until: number[]; offset: number[] }

const compiled = new WeakMap<CalendarSnapshot, CompiledCalendar>();

/** `"08:30"` -> 510; null when it is not a time of day (`"24:00"` is allowed as the end of a day). */
export function minutesOfDay(hm: string): number | null {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(hm);
  if (!m) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 1440 ? minutes : null;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date (civil-calendar arithmetic: no Date, no globals). */
export function dayNumber(date: string): number {
  const digit = (i: number) => date.charCodeAt(i) - 48;
  let y = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const m = digit(5) * 10 + digit(6);
  const d = digit(8) * 10 + digit(9);
  y -= m <= 2 ? 1 : 0;
  const era = floor(y / 400);
  const yoe = y - era * 400;
  const doy = floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function compile(cal: CalendarSnapshot): CompiledCalendar {
  const hit = compiled.get(cal);
  if (hit) return hit;
  const openWeekday: boolean[] = [];
  for (let i = 0; i < 8; i++) openWeekday.push(cal.weekdays.includes(i));
  const pairs: [number, number][] = [];
  for (let i = 0; i < cal.workingHours.length; i++) {
    const from = minutesOfDay(cal.workingHours[i].from);
    const to = minutesOfDay(cal.workingHours[i].to);
    if (from !== null && to !== null && from < to) pairs.push([from, to]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const ranges: number[] = [];
  for (const [from, to] of pairs) ranges.push(from, to);
  const result: CompiledCalendar = {
    always: cal.always === true,
    openWeekday,
    ranges,
    closed: new Set(cal.closedDates.map(dayNumber)),
    open: new Set(cal.workingDates.map(dayNumber)),
    years: cal.holidayYears ? new Set(cal.holidayYears) : null,
    zone: copyZone(cal.zone),
    workingDayMs: 0,
    table: null,
  };
  for (let r = 0; r < ranges.length; r += 2) result.workingDayMs += (ranges[r + 1] - ranges[r]) * MINUTE_MS;
  compiled.set(cal, result);
  return result;
}

function copyZone(offsets: ZoneOffset[]): Zone {
  const zone: Zone = { until: [], offset: [] };
  for (let i = 0; i < offsets.length; i++) {
    zone.until.push(offsets[i].until ?? FOREVER);
    zone.offset.push(offsets[i].offsetMinutes * MINUTE_MS);
  }
  if (zone.until.length === 0) { zone.until.push(Infinity); zone.offset.push(0); }
  zone.until[zone.until.length - 1] = FOREVER;
  return zone;
}

function offsetAt(zone: Zone, utcMs: number): number {
  let i = 0;
  while (utcMs >= zone.until[i]) i++;
  return zone.offset[i];
}

/** The instant of local wall time `minutes` on local day `day`; in a spring-forward gap, the instant after it. */
function instantOf(zone: Zone, day: number, minutes: number): number {
  const local = day * DAY_MS + minutes * MINUTE_MS;
  if (zone.offset.length === 1) return local - zone.offset[0];
  const offset = offsetAt(zone, local - offsetAt(zone, local));
  const utc = local - offset;
  const check = offsetAt(zone, utc);
  return check === offset ? utc : local - check;
}

function localDay(zone: Zone, utcMs: number): number {
  return floor((utcMs + offsetAt(zone, utcMs)) / DAY_MS);
}

function isWorkingDay(c: CompiledCalendar, day: number): boolean {
  if (c.open.has(day)) return true;
  if (c.closed.has(day)) return false;
  // 1970-01-01 was a Thursday (ISO 4).
  return c.openWeekday[(((day % 7) + 7 + 3) % 7) + 1];
}

/** The year of a day number (the inverse of dayNumber's arithmetic). */
export function yearOf(day: number): number {
  const z = day + 719468;
  const era = floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100));
  const mp = floor((5 * doy + 2) / 153);
  return yoe + era * 400 + (mp >= 10 ? 1 : 0);
}

/** Whether a count through local days `fromDay`..`toDay` relies on a year whose holiday notice the snapshot lacks. */
function unknownYears(c: CompiledCalendar, fromDay: number, toDay: number): boolean {
  if (!c.years) return false;
  for (let y = yearOf(fromDay), last = yearOf(toDay); y <= last; y++) if (!c.years.has(y)) return true;
  return false;
}

/** Working time on local day `day` between two instants (the whole day: NEVER, FOREVER). */
function workOn(c: CompiledCalendar, day: number, fromMs: number, toMs: number): number {
  if (!isWorkingDay(c, day)) return 0;
  // A whole day in a zone without offset changes: always the same working time.
  if (fromMs === NEVER && toMs === FOREVER && c.zone.offset.length === 1) return c.workingDayMs;
  let total = 0;
  for (let r = 0; r < c.ranges.length; r += 2) {
    const start = max(instantOf(c.zone, day, c.ranges[r]), fromMs);
    const end = min(instantOf(c.zone, day, c.ranges[r + 1]), toMs);
    if (end > start) total += end - start;
  }
  return total;
}

/**
 * A prefix table of working time per local day from `first`: `cum[i]` is the working time of
 * the days `first` .. `first + i - 1`, so the working time of a run of days is one
 * subtraction and a due date a binary search. Grown as far as counts reach, up to about ten
 * years; a workflow keeps its case's table for as long as it holds the snapshot.
 */
const TABLE_MAX_DAYS = 3700;
const TABLE_CHUNK_DAYS = 64;

function tableFor(c: CompiledCalendar, day: number): DayTable {
  const t = c.table;
  if (t && day >= t.first && day - t.first < TABLE_MAX_DAYS) return t;
  c.table = { first: day - 7, cum: [0] };
  return c.table;
}

/** Grow the table to cover index `i` (or as far as it may grow); returns the last index covered. */
function growTable(c: CompiledCalendar, t: DayTable, i: number): number {
  const target = min(i, TABLE_MAX_DAYS);
  while (t.cum.length - 1 < target) {
    const end = min(t.cum.length - 1 + TABLE_CHUNK_DAYS, TABLE_MAX_DAYS);
    for (let k = t.cum.length - 1; k < end; k++) t.cum.push(t.cum[k] + workOn(c, t.first + k, NEVER, FOREVER));
  }
  return t.cum.length - 1;
}

/** The table index of the day in which `remaining` working time from the start of index `i` runs out, and what is left of it then. */
function dayWhereTimeRunsOut(c: CompiledCalendar, t: DayTable, i: number, remaining: number): { index: number; left: number } | null {
  let last = growTable(c, t, i + TABLE_CHUNK_DAYS);
  while (t.cum[last] - t.cum[i] < remaining && last < TABLE_MAX_DAYS) last = growTable(c, t, last + TABLE_CHUNK_DAYS);
  if (t.cum[last] - t.cum[i] < remaining) return null;
  const target = t.cum[i] + remaining;
  let lo = i + 1;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.cum[mid] >= target) hi = mid; else lo = mid + 1;
  }
  return { index: lo - 1, left: target - t.cum[lo - 1] };
}

/** The instant at which `remaining` of working time on `day` (counted from its start) is used up, or null when the day has less. */
function withinDay(c: CompiledCalendar, day: number, fromMs: number, remaining: number): { dueMs: number } | { left: number } {
  if (!isWorkingDay(c, day)) return { left: remaining };
  for (let r = 0; r < c.ranges.length; r += 2) {
    const end = instantOf(c.zone, day, c.ranges[r + 1]);
    if (end <= fromMs) continue;
    const start = max(instantOf(c.zone, day, c.ranges[r]), fromMs);
    const available = end - start;
    if (remaining <= available) return { dueMs: start + remaining };
    remaining -= available;
  }
  return { left: remaining };
}

/**
 * The instant at which `durationMs` of working time, counted from `fromMs`, is used up.
 * Counting stops exactly at the end of a working span when the time runs out there (due at
 * 17:30, not at 08:30 the next working day).
 */
export function dueAfterWorkingTime(cal: CalendarSnapshot, fromMs: number, durationMs: number): DueDate {
  const c = compile(cal);
  if (c.always || durationMs <= 0) return { dueMs: fromMs + max(0, durationMs), provisional: false };
  const firstDay = localDay(c.zone, fromMs);
  const first = withinDay(c, firstDay, fromMs, durationMs);
  if ('dueMs' in first) return { dueMs: first.dueMs, provisional: unknownYears(c, firstDay, firstDay) };
  // The whole days, by the prefix table; a table begun long before this count may be too
  // short for it, so a miss is retried once on a table begun here.
  for (const fresh of [false, true]) {
    if (fresh) c.table = null;
    const t = tableFor(c, firstDay + 1);
    const dueDay = dayWhereTimeRunsOut(c, t, firstDay + 1 - t.first, first.left);
    if (dueDay === null) continue;
    const inDay = withinDay(c, t.first + dueDay.index, NEVER, dueDay.left);
    if ('dueMs' in inDay) return { dueMs: inDay.dueMs, provisional: unknownYears(c, firstDay, t.first + dueDay.index) };
  }
  throw new NoWorkingTimeError(cal.id, fromMs);
}

/** Working time between two instants (0 when `toMs` is not after `fromMs`): how long a hold stopped the clock. */
export function workingTimeBetween(cal: CalendarSnapshot, fromMs: number, toMs: number): number {
  if (toMs <= fromMs) return 0;
  const c = compile(cal);
  if (c.always) return toMs - fromMs;
  const firstDay = localDay(c.zone, fromMs);
  const lastDay = localDay(c.zone, toMs);
  if (firstDay === lastDay) return workOn(c, firstDay, fromMs, toMs);
  let total = workOn(c, firstDay, fromMs, toMs) + workOn(c, lastDay, fromMs, toMs);
  const t = tableFor(c, firstDay + 1);
  const a = firstDay + 1 - t.first;
  const b = lastDay - t.first;
  const last = growTable(c, t, b);
  if (b <= last) return total + t.cum[b] - t.cum[a];
  total += t.cum[last] - t.cum[a];
  for (let day = t.first + last; day < lastDay; day++) total += workOn(c, day, NEVER, FOREVER);
  return total;
}

/** The built-in `always` calendar as a snapshot: what every case without a calendar counts on. */
export const ALWAYS_SNAPSHOT: CalendarSnapshot = Object.freeze({
  id: 'always', timezone: 'UTC', weekdays: [1, 2, 3, 4, 5, 6, 7], workingHours: [{ from: '00:00', to: '24:00' }],
  closedDates: [], workingDates: [], holidayYears: null, zone: [{ until: null, offsetMinutes: 0 }], always: true,
}) as CalendarSnapshot;
