/**
 * ISO 8601 durations as used by SLA policies (`PT2H`, `P7D`, `PT5S`, `P1DT12H`, `PT0.5S`).
 * Calendar units (years, months) are refused: an SLA is a fixed span of time, and a
 * month has no fixed length.
 */
const ISO_DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const MS = { week: 7 * 86_400_000, day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1000 };

/** Longer text is no duration anybody means (`P1DT12H30M15.5S` is 15 characters). */
export const MAX_DURATION_TEXT = 32;

/**
 * The longest spans accepted. A deadline is "now + duration" and must stay a date Postgres
 * and Temporal can hold: `P420000W` would put it past the year 9999 and freeze the case.
 */
export const DURATION_LIMITS = {
  /** Any field of an SLA policy. */
  slaField: { ms: 365 * MS.day, text: 'P365D' },
  /** An extension a partner asks for, and the window of `GET /v1/timeouts`. */
  extension: { ms: 90 * MS.day, text: 'P90D' },
} as const;

/** Milliseconds in an ISO 8601 duration, or `null` when the text is not one we accept. */
export function parseIsoDuration(text: string): number | null {
  if (text.length > MAX_DURATION_TEXT) return null;
  const m = ISO_DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return null;
  const [, w, d, h, min, s] = m;
  const ms =
    num(w) * MS.week + num(d) * MS.day + num(h) * MS.hour + num(min) * MS.minute + num(s) * MS.second;
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

function num(part: string | undefined): number {
  return part === undefined ? 0 : Number(part);
}

/** Milliseconds back to the shortest readable ISO 8601 duration (`PT90M` -> `PT1H30M`). */
export function formatIsoDuration(ms: number): string {
  if (ms <= 0) return 'PT0S';
  const days = Math.floor(ms / MS.day);
  let rest = ms - days * MS.day;
  const hours = Math.floor(rest / MS.hour);
  rest -= hours * MS.hour;
  const minutes = Math.floor(rest / MS.minute);
  rest -= minutes * MS.minute;
  const seconds = rest / MS.second;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds ? `${seconds}S` : ''}`;
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}
