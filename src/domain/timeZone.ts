/**
 * IANA time zones through Intl (Node's ICU carries the tz database): validation, and the table
 * of UTC offsets over a span that a calendar snapshot carries. Not for workflow code: the ICU
 * data changes with the Node release; a snapshot freezes what it said when the case opened.
 */
import type { ZoneOffset } from './calendar';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Whether `name` is a time zone of the IANA database (`Asia/Shanghai`, `UTC`). Offsets such as
 * `+08:00` are refused even where ICU would take them: a fixed offset is not a place's rules.
 */
export function isIanaTimeZone(name: string): boolean {
  if (!/^(?:[A-Za-z][A-Za-z0-9_+-]*)(?:\/[A-Za-z0-9][A-Za-z0-9_+-]*)*$/.test(name) || name.length > 64) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** Minutes east of UTC in `timeZone` at `utcMs`. */
export function offsetMinutesAt(timeZone: string, utcMs: number): number {
  const parts = formatter(timeZone).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((local - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

const tables = new Map<string, ZoneOffset[]>();
const DAY_MS = 86_400_000;

/**
 * The offsets of `timeZone` from `fromMs` to `toMs`: sampled daily, each change found to the
 * minute by bisection. Outside the span the first and last offsets hold. Cached per span.
 */
export function zoneOffsets(timeZone: string, fromMs: number, toMs: number): ZoneOffset[] {
  const key = `${timeZone}|${fromMs}|${toMs}`;
  const hit = tables.get(key);
  if (hit) return hit;
  const table: ZoneOffset[] = [];
  let current = offsetMinutesAt(timeZone, fromMs);
  for (let t = fromMs; t < toMs; t += DAY_MS) {
    const next = offsetMinutesAt(timeZone, Math.min(t + DAY_MS, toMs));
    if (next === current) continue;
    let lo = t;
    let hi = Math.min(t + DAY_MS, toMs);
    while (hi - lo > 60_000) {
      const mid = Math.floor((lo + hi) / 2 / 60_000) * 60_000;
      if (mid <= lo) break;
      if (offsetMinutesAt(timeZone, mid) === current) lo = mid; else hi = mid;
    }
    table.push({ until: hi, offsetMinutes: current });
    current = next;
  }
  table.push({ until: null, offsetMinutes: current });
  if (tables.size > 500) tables.clear();
  tables.set(key, table);
  return table;
}
