/**
 * The State Council's public holidays and make-up working days (调休), one JSON file per year
 * as its notice published them (docs/sla-clocks.md says how to add a year). Read by the API
 * when it snapshots a calendar for a new case; never by workflow code, so a new year's data
 * in a later release cannot change what a running case replays.
 */
import cn2024 from './cn-2024.json';
import cn2025 from './cn-2025.json';
import cn2026 from './cn-2026.json';

export interface HolidayNotice {
  year: number;
  source: { issuer: string; title: string; number: string; issuedOn: string };
  holidays: { name: string; from: string; to: string }[];
  workdays: { date: string; for: string }[];
}

export const CN_HOLIDAY_NOTICES: readonly HolidayNotice[] = [cn2024, cn2025, cn2026];

const byYear = new Map(CN_HOLIDAY_NOTICES.map((n) => [n.year, n]));

export const CN_PUBLISHED_YEARS: readonly number[] = CN_HOLIDAY_NOTICES.map((n) => n.year);

export function cnHolidayNotice(year: number): HolidayNotice | undefined {
  return byYear.get(year);
}

/** Every date of a holiday range, inclusive. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** The dates closed and opened by one year's notice; null when the notice is not in the data. */
export function cnYearDates(year: number): { closed: string[]; working: string[] } | null {
  const notice = byYear.get(year);
  if (!notice) return null;
  return {
    closed: notice.holidays.flatMap((h) => datesBetween(h.from, h.to)),
    working: notice.workdays.map((w) => w.date),
  };
}
