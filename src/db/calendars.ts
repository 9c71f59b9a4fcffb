import type { Pool } from 'pg';
import { BUILT_IN_CALENDARS, isBuiltInCalendar, type CalendarDefinition } from '../domain/calendars';

interface CalendarRow { id: string; name: string; definition: Omit<CalendarDefinition, 'id' | 'name'>; created_at: Date; updated_at: Date }

export interface StoredCalendar extends CalendarDefinition { builtIn: boolean; updatedAt: string | null }

function fromRow(r: CalendarRow): StoredCalendar {
  return { id: r.id, name: r.name, ...r.definition, builtIn: false, updatedAt: r.updated_at.toISOString() };
}

const builtIn = (def: CalendarDefinition): StoredCalendar => ({ ...def, builtIn: true, updatedAt: null });

/** The built-ins first, then the stored calendars by id. */
export async function listCalendars(pool: Pool): Promise<StoredCalendar[]> {
  const { rows } = await pool.query<CalendarRow>('SELECT id, name, definition, created_at, updated_at FROM calendars ORDER BY id');
  return [...Object.values(BUILT_IN_CALENDARS).map(builtIn), ...rows.map(fromRow)];
}

export async function getCalendar(pool: Pool, id: string): Promise<StoredCalendar | null> {
  if (isBuiltInCalendar(id)) return builtIn(BUILT_IN_CALENDARS[id]);
  const { rows } = await pool.query<CalendarRow>('SELECT id, name, definition, created_at, updated_at FROM calendars WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Insert or replace; `created` tells which. */
export async function saveCalendar(pool: Pool, def: CalendarDefinition): Promise<{ calendar: StoredCalendar; created: boolean }> {
  const { id, name, ...definition } = def;
  const { rows } = await pool.query<CalendarRow & { created: boolean }>(
    `INSERT INTO calendars (id, name, definition) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, definition = EXCLUDED.definition, updated_at = now()
     RETURNING id, name, definition, created_at, updated_at, (xmax = 0) AS created`,
    [id, name, JSON.stringify(definition)]);
  intakeCache.delete(pool);
  return { calendar: fromRow(rows[0]), created: rows[0].created };
}

/** Like the SLA policies: intake reuses what it read for a second; a change saved here applies at once. */
const INTAKE_CACHE_MS = 1000;
const intakeCache = new WeakMap<Pool, { at: number; calendars: Map<string, Promise<StoredCalendar | null>> }>();

/** The calendar a case being opened counts on (built-ins need no query). */
export function currentCalendar(pool: Pool, id: string): Promise<StoredCalendar | null> {
  if (isBuiltInCalendar(id)) return Promise.resolve(builtIn(BUILT_IN_CALENDARS[id]));
  let cache = intakeCache.get(pool);
  if (!cache || Date.now() - cache.at >= INTAKE_CACHE_MS) {
    cache = { at: Date.now(), calendars: new Map() };
    intakeCache.set(pool, cache);
  }
  let hit = cache.calendars.get(id);
  if (!hit) {
    hit = getCalendar(pool, id);
    cache.calendars.set(id, hit);
    hit.catch(() => cache!.calendars.delete(id));
  }
  return hit;
}
