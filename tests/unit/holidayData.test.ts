/**
 * The State Council holiday data in src/domain/holidays, checked date by date against a second,
 * independent source: the npm package chinese-days (maintained separately from this repository).
 */
import chineseDays from 'chinese-days/dist/chinese-days.json';
import { CN_HOLIDAY_NOTICES, cnYearDates, datesBetween } from '../../src/domain/holidays';

const other = chineseDays as { holidays: Record<string, string>; workdays: Record<string, string> };
const isWeekend = (d: string) => [0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay());

describe.each(CN_HOLIDAY_NOTICES.map((n) => [n.year, n] as const))('the %i notice', (year, notice) => {
  const ours = cnYearDates(year)!;
  const closed = new Set(ours.closed);
  const working = new Set(ours.working);

  it('names its source: the State Council General Office notice, its number and date', () => {
    expect(notice.source.title).toContain(`${year}年部分节假日安排的通知`);
    expect(notice.source.number).toMatch(/^国办发明电〔\d{4}〕\d+号$/);
    expect(Number(notice.source.issuedOn.slice(0, 4))).toBe(year - 1);
  });

  it('has the same make-up working days (调休) as chinese-days', () => {
    const theirs = Object.keys(other.workdays).filter((d) => d.startsWith(`${year}-`)).sort();
    expect([...working].sort()).toEqual(theirs);
    for (const d of working) expect(isWeekend(d)).toBe(true);
  });

  it('agrees with chinese-days on whether each of the 365 days is a working day', () => {
    const days = datesBetween(`${year}-01-01`, `${year}-12-31`);
    expect(days.length).toBeGreaterThanOrEqual(365);
    const disagreements = days.filter((d) => {
      const oursWorking = working.has(d) || (!closed.has(d) && !isWeekend(d));
      const theirsWorking = d in other.workdays || (!(d in other.holidays) && !isWeekend(d));
      return oursWorking !== theirsWorking;
    });
    expect(disagreements).toEqual([]);
  });

  it('closes only days that chinese-days counts as holidays', () => {
    for (const d of closed) expect(other.holidays[d]).toBeDefined();
  });
});

it('the data covers 2025 and 2026 at least', () => {
  expect(CN_HOLIDAY_NOTICES.map((n) => n.year)).toEqual(expect.arrayContaining([2025, 2026]));
});
