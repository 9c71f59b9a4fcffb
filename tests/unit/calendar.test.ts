/** Working-time arithmetic: the State Council's holidays and make-up days, lunch breaks, time zones, holds. */
import { ALWAYS_SNAPSHOT, dayNumber, dueAfterWorkingTime, workingTimeBetween, yearOf } from '../../src/domain/calendar';
import { BUILT_IN_CALENDARS, calendarProblems, snapshotCalendar, type CalendarDefinition } from '../../src/domain/calendars';
import { parseIsoDuration } from '../../src/domain/duration';
import { isIanaTimeZone } from '../../src/domain/timeZone';

const H = 3_600_000;
const cnOffice = (at: string) => snapshotCalendar(BUILT_IN_CALENDARS['cn-office'], Date.parse(at));
/** Due date of `duration` of working time from `from` on cn-office, as an ISO instant. */
function cnDue(from: string, duration: string): { dueAt: string; provisional: boolean } {
  const r = dueAfterWorkingTime(cnOffice(from), Date.parse(from), parseIsoDuration(duration)!);
  return { dueAt: new Date(r.dueMs).toISOString(), provisional: r.provisional };
}

describe('due dates on cn-office (Asia/Shanghai, 08:30-12:00 and 13:30-17:30, State Council holidays)', () => {
  it('skips the 2026 National Day week and falls due on the make-up working Saturday 2026-10-10', () => {
    // 16:00 Beijing on Wednesday 30 September: 1.5 h that day, 7.5 h on 8 and 9 October, 2.5 h on Saturday 10 October.
    expect(cnDue('2026-09-30T16:00:00+08:00', 'PT19H')).toEqual({ dueAt: '2026-10-10T03:00:00.000Z', provisional: false });
  });

  it('counts the make-up Saturday before the 2026 Spring Festival and skips the nine days off', () => {
    // Friday 13 February 16:00: 1.5 h, then Saturday 14 February (调休) 08:30 + 2.5 h.
    expect(cnDue('2026-02-13T16:00:00+08:00', 'PT4H').dueAt).toBe('2026-02-14T03:00:00.000Z');
    // From 17:00 on the make-up Saturday: 0.5 h, 15-23 February off, then Tuesday 24 February 08:30 + 0.5 h.
    expect(cnDue('2026-02-14T17:00:00+08:00', 'PT1H').dueAt).toBe('2026-02-24T01:00:00.000Z');
    // The Saturday after (28 February) is worked too.
    expect(cnDue('2026-02-27T17:00:00+08:00', 'PT1H').dueAt).toBe('2026-02-28T01:00:00.000Z');
  });

  it('stops for lunch and at 17:30 exactly when the time runs out there', () => {
    expect(cnDue('2026-03-03T11:00:00+08:00', 'PT2H').dueAt).toBe('2026-03-03T06:30:00.000Z'); // 11:00 + 1 h, lunch, 13:30 + 1 h
    expect(cnDue('2026-03-03T16:30:00+08:00', 'PT1H').dueAt).toBe('2026-03-03T09:30:00.000Z'); // 17:30 the same day
    expect(cnDue('2026-03-03T20:00:00+08:00', 'PT30M').dueAt).toBe('2026-03-04T01:00:00.000Z'); // after hours: next morning 09:00
  });

  it('is provisional when the count runs into a year whose notice is not in the data, counting Monday to Friday there', () => {
    // Thursday 31 December 2026 after hours, one hour: Friday 1 January 2027 counts as a working day (no 2027 notice).
    expect(cnDue('2026-12-31T18:00:00+08:00', 'PT1H')).toEqual({ dueAt: '2027-01-01T01:30:00.000Z', provisional: true });
    expect(cnDue('2026-12-30T09:00:00+08:00', 'PT1H').provisional).toBe(false);
  });

  it('the `always` calendar counts every minute', () => {
    const from = Date.parse('2026-10-01T00:00:00Z');
    expect(dueAfterWorkingTime(ALWAYS_SNAPSHOT, from, 19 * H)).toEqual({ dueMs: from + 19 * H, provisional: false });
    expect(workingTimeBetween(ALWAYS_SNAPSHOT, from, from + 5 * H)).toBe(5 * H);
  });
});

describe('working time between two instants (how long a hold stopped the clock)', () => {
  it('counts only office hours: a hold from Friday 16:00 to Monday 10:00 stopped 3 hours', () => {
    const cal = cnOffice('2026-03-06T16:00:00+08:00');
    expect(workingTimeBetween(cal, Date.parse('2026-03-06T16:00:00+08:00'), Date.parse('2026-03-09T10:00:00+08:00'))).toBe(3 * H);
    expect(workingTimeBetween(cal, Date.parse('2026-10-01T09:00:00+08:00'), Date.parse('2026-10-07T17:00:00+08:00'))).toBe(0);
  });

  it('is the inverse of the due date: the working time up to a due date is the duration', () => {
    const from = Date.parse('2026-09-30T16:00:00+08:00');
    const cal = cnOffice('2026-09-30T16:00:00+08:00');
    for (const hours of [0.25, 1, 7.5, 19, 40, 200]) {
      const { dueMs } = dueAfterWorkingTime(cal, from, hours * H);
      expect(workingTimeBetween(cal, from, dueMs)).toBe(hours * H);
    }
  });
});

describe('time zones come from the IANA database, daylight saving included', () => {
  const berlin: CalendarDefinition = {
    id: 'berlin', name: 'Berlin office', timezone: 'Europe/Berlin', weekdays: [1, 2, 3, 4, 5],
    workingHours: [{ from: '09:00', to: '17:00' }], holidays: 'none',
  };

  it('counts local office hours across the spring-forward weekend', () => {
    const from = Date.parse('2026-03-27T15:00:00Z'); // Friday 16:00 CET
    const cal = snapshotCalendar(berlin, from);
    const r = dueAfterWorkingTime(cal, from, 2 * H);
    expect(new Date(r.dueMs).toISOString()).toBe('2026-03-30T08:00:00.000Z'); // Monday 10:00 CEST
    expect(r.provisional).toBe(false); // holidays "none": no notice to wait for
  });

  it('knows real zones and refuses fixed offsets and made-up names', () => {
    expect(isIanaTimeZone('Asia/Shanghai')).toBe(true);
    expect(isIanaTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isIanaTimeZone('+08:00')).toBe(false);
    expect(isIanaTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('calendar definitions that cannot count are refused field by field', () => {
  const base = { timezone: 'Asia/Shanghai', weekdays: [1, 2, 3, 4, 5], holidays: 'cn' as const };
  const paths = (def: Parameters<typeof calendarProblems>[0]) => calendarProblems(def).map((p) => p.path.join('.'));

  it('accepts the built-in cn-office', () => {
    expect(calendarProblems(BUILT_IN_CALENDARS['cn-office'])).toEqual([]);
  });
  it('names inverted and overlapping hours, an unknown zone, and a calendar without working time', () => {
    expect(paths({ ...base, workingHours: [{ from: '12:00', to: '08:30' }] })).toEqual(['workingHours.0.to']);
    expect(paths({ ...base, workingHours: [{ from: '08:30', to: '12:00' }, { from: '11:00', to: '17:00' }] })).toEqual(['workingHours.1']);
    expect(paths({ ...base, timezone: 'China/Beijing', workingHours: [{ from: '08:30', to: '12:00' }] })).toEqual(['timezone']);
    expect(paths({ ...base, workingHours: [] })).toEqual(['workingHours']);
    expect(paths({ ...base, weekdays: [], workingHours: [{ from: '08:30', to: '12:00' }] })).toEqual(['weekdays']);
    expect(paths({ ...base, workingHours: [{ from: '08:30', to: '25:00' }] })).toEqual(['workingHours.0.to']);
  });
});

describe('a calendar snapshot is all a count needs', () => {
  it('carries the notices of the years it spans and a calendar\'s own dates over them', () => {
    const own: CalendarDefinition = { ...BUILT_IN_CALENDARS['cn-office'], id: 'own', closedDates: ['2026-10-09'], workingDates: ['2026-10-03'] };
    const snap = snapshotCalendar(own, Date.parse('2026-09-30T08:00:00Z'));
    expect(snap.holidayYears).toEqual([2026]);
    expect(snap.closedDates).toContain('2026-10-09');
    expect(snap.closedDates).not.toContain('2026-10-03');
    expect(snap.workingDates).toEqual(expect.arrayContaining(['2026-10-03', '2026-10-10']));
    expect(snap.zone).toEqual([{ until: null, offsetMinutes: 480 }]);
    // JSON round trip (the workflow input) counts the same.
    const again = JSON.parse(JSON.stringify(snap));
    const from = Date.parse('2026-09-30T08:00:00Z');
    expect(dueAfterWorkingTime(again, from, 19 * H)).toEqual(dueAfterWorkingTime(snap, from, 19 * H));
  });
});

describe('civil-date arithmetic (no Date in the hot loops)', () => {
  it('agrees with Date on every day number from 1900 to 2200, and on the year of each', () => {
    for (let t = Date.UTC(1900, 0, 1); t < Date.UTC(2200, 0, 1); t += 86_400_000) {
      const day = t / 86_400_000;
      const date = new Date(t).toISOString().slice(0, 10);
      if (dayNumber(date) !== day || yearOf(day) !== new Date(t).getUTCFullYear()) throw new Error(`${date}: ${dayNumber(date)} / ${yearOf(day)}`);
    }
  });
});
