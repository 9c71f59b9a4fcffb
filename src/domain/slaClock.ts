/**
 * The clock of a case's SLA: every duration of the policy counted as working time on the
 * calendar snapshot the case carries (docs/sla-clocks.md). Pure and snapshot-only, so a
 * workflow counts the same on every replay, whatever later releases ship as calendar data.
 */
import { ALWAYS_SNAPSHOT, type CalendarSnapshot, dueAfterWorkingTime, NoWorkingTimeError, workingTimeBetween } from './calendar';
import { parseIsoDuration } from './duration';
import { DEFAULT_ESCALATION_STEPS, DEFAULT_MAX_HOLD, type EscalationStep } from './escalation';

/** What a case's SLA snapshot adds for working time and the escalation chain (absent in cases opened before). */
export interface SlaClockSnapshot {
  calendar?: CalendarSnapshot;
  escalationSteps?: { level: number; afterMs: number }[];
  maxHoldMs?: number;
}

export interface ClockReading { at: number; provisional: boolean }

const calendarOf = (sla: SlaClockSnapshot): CalendarSnapshot => sla.calendar ?? ALWAYS_SNAPSHOT;

/**
 * `durationMs` of working time after `fromMs`. A duration longer than ten years of the
 * calendar's working time falls back to wall-clock time: a policy error must not stop a case.
 */
export function dueAfter(sla: SlaClockSnapshot, fromMs: number, durationMs: number): ClockReading {
  try {
    const { dueMs, provisional } = dueAfterWorkingTime(calendarOf(sla), fromMs, durationMs);
    return { at: dueMs, provisional };
  } catch (err) {
    if (err instanceof NoWorkingTimeError) return { at: fromMs + durationMs, provisional: true };
    throw err;
  }
}

/** Working time between two instants on the case's calendar (what a hold stopped). */
export function workingTime(sla: SlaClockSnapshot, fromMs: number, toMs: number): number {
  return workingTimeBetween(calendarOf(sla), fromMs, toMs);
}

export function escalationStepsOf(sla: SlaClockSnapshot): { level: number; afterMs: number }[] {
  return sla.escalationSteps ?? stepsInMs(DEFAULT_ESCALATION_STEPS);
}

export function maxHoldMsOf(sla: SlaClockSnapshot): number {
  return sla.maxHoldMs ?? parseIsoDuration(DEFAULT_MAX_HOLD)!;
}

export function stepsInMs(steps: readonly EscalationStep[]): { level: number; afterMs: number }[] {
  return steps.map((s) => ({ level: s.level, afterMs: parseIsoDuration(s.after) ?? 0 }));
}
