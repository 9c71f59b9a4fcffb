/**
 * What intake adds to a case's SLA snapshot for the working-day clocks and the escalation
 * chain: the policy's calendar as a snapshot (its hours, the holiday notices of the years it
 * spans, the zone's offsets), the escalation steps and maxHold in milliseconds, defaults
 * included. All of it travels in the workflow input, so nothing a later release changes
 * (holiday data, tz data, default steps) alters a running case (docs/sla-clocks.md).
 */
import type { Pool } from 'pg';
import { currentCalendar, type StoredCalendar } from '../db/calendars';
import type { CalendarSnapshot } from '../domain/calendar';
import { snapshotCalendar } from '../domain/calendars';
import { parseIsoDuration } from '../domain/duration';
import { DEFAULT_ESCALATION_STEPS, DEFAULT_MAX_HOLD, type EscalationStep } from '../domain/escalation';
import type { SlaSource } from '../domain/sla';
import { stepsInMs, type SlaClockSnapshot } from '../domain/slaClock';
import { offsetMinutesAt } from '../domain/timeZone';

const snapshots = new Map<string, CalendarSnapshot>();

/** One snapshot per calendar version and opening year, shared by the cases opened meanwhile. */
function calendarSnapshot(cal: StoredCalendar, atMs: number): CalendarSnapshot {
  const year = new Date(atMs + offsetMinutesAt(cal.timezone, atMs) * 60_000).getUTCFullYear();
  const key = `${cal.id}|${cal.updatedAt ?? 'built-in'}|${year}`;
  let snap = snapshots.get(key);
  if (!snap) {
    if (snapshots.size > 1000) snapshots.clear();
    snap = snapshotCalendar(cal, atMs);
    snapshots.set(key, snap);
  }
  return snap;
}

/** The SLA with its clock: `calendar` only when the policy names one other than `always`. */
export async function withSlaClock<S extends { source: SlaSource }>(pool: Pool, sla: S, atMs: number, holds: boolean): Promise<S & SlaClockSnapshot> {
  const calendarId = typeof sla.source.calendar === 'string' ? sla.source.calendar : 'always';
  const calendar = calendarId === 'always' ? null : await currentCalendar(pool, calendarId);
  const steps = Array.isArray(sla.source.escalationSteps) ? (sla.source.escalationSteps as EscalationStep[]) : DEFAULT_ESCALATION_STEPS;
  const maxHold = typeof sla.source.maxHold === 'string' ? sla.source.maxHold : DEFAULT_MAX_HOLD;
  return {
    ...sla,
    ...(calendar ? { calendar: calendarSnapshot(calendar, atMs) } : {}),
    escalationSteps: stepsInMs(steps),
    ...(holds ? { maxHoldMs: parseIsoDuration(maxHold)! } : {}),
  };
}
