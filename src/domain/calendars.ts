/**
 * Working-day calendars as people define them, the two built in, and the snapshot a case
 * carries (docs/sla-clocks.md). The snapshot is made outside workflow code (it reads the
 * holiday data and the time-zone database) and travels in the workflow input.
 */
import { ALWAYS_SNAPSHOT, dayNumber, minutesOfDay, type CalendarSnapshot, type WorkingHours } from './calendar';
import { CN_PUBLISHED_YEARS, cnYearDates } from './holidays';
import { isIanaTimeZone, offsetMinutesAt, zoneOffsets } from './timeZone';

export const HOLIDAY_RULES = ['cn', 'none'] as const;
export type HolidayRules = (typeof HOLIDAY_RULES)[number];

export interface CalendarDefinition {
  id: string;
  name: string;
  timezone: string;
  weekdays: number[];
  workingHours: WorkingHours[];
  holidays: HolidayRules;
  closedDates?: string[];
  workingDates?: string[];
}

export const BUILT_IN_CALENDARS: Readonly<Record<'always' | 'cn-office', CalendarDefinition>> = {
  always: {
    id: 'always', name: 'Every minute counts', timezone: 'UTC', weekdays: [1, 2, 3, 4, 5, 6, 7],
    workingHours: [{ from: '00:00', to: '24:00' }], holidays: 'none',
  },
  'cn-office': {
    id: 'cn-office', name: '机关工作日 (Mon-Fri 08:30-12:00, 13:30-17:30, State Council holidays)',
    timezone: 'Asia/Shanghai', weekdays: [1, 2, 3, 4, 5],
    workingHours: [{ from: '08:30', to: '12:00' }, { from: '13:30', to: '17:30' }], holidays: 'cn',
  },
};

export const isBuiltInCalendar = (id: string): id is keyof typeof BUILT_IN_CALENDARS => Object.hasOwn(BUILT_IN_CALENDARS, id);

export interface CalendarProblem { path: (string | number)[]; message: string }

/**
 * What is wrong with a definition, field by field: an unknown time zone, hours that are
 * inverted or overlap, no working time at all, a date both closed and open.
 */
export function calendarProblems(def: Omit<CalendarDefinition, 'id' | 'name'>): CalendarProblem[] {
  const problems: CalendarProblem[] = [];
  if (!isIanaTimeZone(def.timezone)) {
    problems.push({ path: ['timezone'], message: `unknown time zone ${JSON.stringify(def.timezone)}: use an IANA name such as Asia/Shanghai` });
  }
  const spans: { from: number; to: number; i: number }[] = [];
  def.workingHours.forEach((h, i) => {
    const from = minutesOfDay(h.from);
    const to = minutesOfDay(h.to);
    if (from === null || from === 1440) problems.push({ path: ['workingHours', i, 'from'], message: 'must be a time of day HH:MM (00:00-23:59)' });
    if (to === null) problems.push({ path: ['workingHours', i, 'to'], message: 'must be a time of day HH:MM (00:01-24:00)' });
    if (from !== null && to !== null && from >= to) problems.push({ path: ['workingHours', i, 'to'], message: `must be after from (${h.from}): working hours cannot be inverted or empty` });
    else if (from !== null && to !== null) spans.push({ from, to, i });
  });
  spans.sort((a, b) => a.from - b.from);
  for (let k = 1; k < spans.length; k++) {
    if (spans[k].from < spans[k - 1].to) {
      problems.push({ path: ['workingHours', spans[k].i], message: `overlaps workingHours[${spans[k - 1].i}]` });
    }
  }
  if (def.workingHours.length === 0) problems.push({ path: ['workingHours'], message: 'a calendar needs working hours' });
  if (def.weekdays.length === 0) problems.push({ path: ['weekdays'], message: 'a calendar needs at least one working weekday' });
  const closed = new Set(def.closedDates ?? []);
  (def.workingDates ?? []).forEach((d, i) => {
    if (closed.has(d)) problems.push({ path: ['workingDates', i], message: `${d} is also in closedDates` });
  });
  return problems;
}

/** How many years past the opening year a case's snapshot covers (besides every published year). */
const SNAPSHOT_YEARS_AHEAD = 2;

function localYear(timezone: string, atMs: number): number {
  return new Date(atMs + offsetMinutesAt(timezone, atMs) * 60_000).getUTCFullYear();
}

/**
 * The calendar as a case opened at `atMs` will count on it for its whole life: its own dates
 * and, for `holidays: "cn"`, the notices of the years from the opening year on (at least two
 * years ahead, and through the last published one), and the zone's offsets over those years.
 */
export function snapshotCalendar(def: CalendarDefinition, atMs: number): CalendarSnapshot {
  if (def.id === 'always') return ALWAYS_SNAPSHOT;
  const first = localYear(def.timezone, atMs);
  const last = Math.max(first + SNAPSHOT_YEARS_AHEAD, ...CN_PUBLISHED_YEARS);
  const inSpan = (d: string) => Number(d.slice(0, 4)) >= first && Number(d.slice(0, 4)) <= last;
  const closed = new Set<string>();
  const working = new Set<string>();
  const holidayYears: number[] = [];
  if (def.holidays === 'cn') {
    for (let y = first; y <= last; y++) {
      const dates = cnYearDates(y);
      if (!dates) continue;
      holidayYears.push(y);
      dates.closed.forEach((d) => closed.add(d));
      dates.working.forEach((d) => working.add(d));
    }
  }
  // The calendar's own dates win over the notice's.
  for (const d of def.workingDates ?? []) if (inSpan(d)) { working.add(d); closed.delete(d); }
  for (const d of def.closedDates ?? []) if (inSpan(d)) { closed.add(d); working.delete(d); }
  const spanStart = Date.UTC(first, 0, 1) - 2 * 86_400_000;
  const spanEnd = Date.UTC(last + 1, 0, 1) + 2 * 86_400_000;
  return {
    id: def.id,
    timezone: def.timezone,
    weekdays: [...def.weekdays].sort(),
    workingHours: def.workingHours.map((h) => ({ from: h.from, to: h.to })),
    closedDates: [...closed].sort((a, b) => dayNumber(a) - dayNumber(b)),
    workingDates: [...working].sort((a, b) => dayNumber(a) - dayNumber(b)),
    holidayYears: def.holidays === 'cn' ? holidayYears : null,
    zone: zoneOffsets(def.timezone, spanStart, spanEnd),
  };
}
