/**
 * Opaque keyset cursors: base64url JSON of the last row's sort key.
 *
 * A cursor comes back from the client, so it is input like any other: each field is checked
 * against the kind of column it is compared with before it reaches SQL. A forged value that
 * Postgres cannot cast (`'x'::timestamptz`, a year past 9999, a text with U+0000) would
 * otherwise be a 500 instead of a 400.
 */
import { isStorableText } from '../domain/text';

export type CursorFieldKind = 'instant' | 'text' | 'bigint';

export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`: what the lists write (ISO text from JS or microsecond text from SQL). */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;
const MAX_TEXT = 200;

export function validCursorValue(kind: CursorFieldKind, value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT) return false;
  switch (kind) {
    case 'bigint':
      return /^[0-9]{1,18}$/.test(value);
    case 'text':
      return isStorableText(value);
    case 'instant': {
      const m = INSTANT.exec(value);
      if (!m) return false;
      const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
      if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
      // The day must exist in that month (Date.UTC rolls 2026-02-30 over to March).
      const d = new Date(Date.UTC(year, month - 1, day));
      d.setUTCFullYear(year);
      return d.getUTCDate() === day;
    }
  }
}

/**
 * The sort key a cursor carries, `null` without a cursor, `'invalid'` when it is not one
 * this list could have produced (not base64url JSON, fields missing, extra or of the wrong kind).
 */
export function decodeCursor<K extends string>(cursor: string | undefined, fields: Record<K, CursorFieldKind>): Record<K, string> | null | 'invalid' {
  if (!cursor) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return 'invalid';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'invalid';
  const record = parsed as Record<string, unknown>;
  const names = Object.keys(fields) as K[];
  if (Object.keys(record).length !== names.length) return 'invalid';
  for (const name of names) if (!validCursorValue(fields[name], record[name])) return 'invalid';
  return record as Record<K, string>;
}
