/**
 * The escalation chain as pure steps over a case's escalation records (逐级督办): raise one
 * for a cause, climb a level when the next step's wait (working time on the case's
 * calendar, from the escalation's start) has passed, stop climbing when someone
 * acknowledges it, end it when its cause goes away. Each step returns the timeline events
 * it produced and whom to notify; the workflow records and sends them.
 */
import { currentEscalation, type EscalationReason, type EscalationRecord } from './escalation';
import { dueAfter, escalationStepsOf, type SlaClockSnapshot } from './slaClock';

export interface ChainEvent {
  type: 'escalation_raised' | 'escalation_level_raised' | 'escalation_acknowledged' | 'escalation_resolved';
  data: Record<string, unknown>;
  /** Set when the escalation reached a new level: its contacts hear of it. */
  notify?: { number: number; level: number; reason: EscalationReason; since: string };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Raise an escalation for `reason`, unless one for that reason is still unresolved. Its
 * first step (normally `PT0S`) is taken at once when due; a later first step waits like
 * the others (the escalation is not shown until it reaches its first level).
 */
export function raiseEscalation(records: EscalationRecord[], reason: EscalationReason, nowMs: number, sla: SlaClockSnapshot): ChainEvent[] {
  if (records.some((r) => r.reason === reason && r.status !== 'resolved')) return [];
  const [first] = escalationStepsOf(sla);
  records.push({
    number: records.length + 1, reason, level: 0, status: 'open', since: iso(nowMs), levelSince: iso(nowMs),
    nextLevelAt: iso(dueAfter(sla, nowMs, first.afterMs).at),
  });
  return climbEscalations(records, nowMs, sla);
}

/** Take every step whose wait has passed on the open escalations (several at once after downtime). */
export function climbEscalations(records: EscalationRecord[], nowMs: number, sla: SlaClockSnapshot): ChainEvent[] {
  const steps = escalationStepsOf(sla);
  const events: ChainEvent[] = [];
  for (const r of records) {
    while (r.status === 'open' && r.nextLevelAt !== null && Date.parse(r.nextLevelAt) <= nowMs) {
      const step = steps.find((s) => s.level > r.level);
      if (!step) { r.nextLevelAt = null; break; }
      const first = r.level === 0;
      r.level = step.level;
      r.levelSince = iso(nowMs);
      const following = steps.find((s) => s.level > r.level);
      r.nextLevelAt = following ? iso(dueAfter(sla, Date.parse(r.since), following.afterMs).at) : null;
      events.push({
        type: first ? 'escalation_raised' : 'escalation_level_raised',
        data: { escalation: r.number, reason: r.reason, level: r.level, since: r.since, nextLevelAt: r.nextLevelAt },
        notify: { number: r.number, level: r.level, reason: r.reason, since: r.since },
      });
    }
  }
  return events;
}

/** When the chain next needs the workflow: the soonest climb of an open escalation. */
export function nextEscalationStepAt(records: readonly EscalationRecord[]): number | null {
  let soonest: number | null = null;
  for (const r of records) {
    if (r.status !== 'open' || r.nextLevelAt === null) continue;
    const at = Date.parse(r.nextLevelAt);
    if (soonest === null || at < soonest) soonest = at;
  }
  return soonest;
}

/** Whether there is a raised escalation nobody has taken on yet. */
export const hasOpenEscalation = (records: readonly EscalationRecord[]) => records.some((r) => r.status === 'open' && r.level > 0);

/** Someone takes the raised escalations on: they stop climbing, and stay listed until their cause goes. */
export function acknowledgeEscalations(records: EscalationRecord[], by: string, note: string, nowMs: number): ChainEvent[] {
  const events: ChainEvent[] = [];
  for (const r of records) {
    if (r.status !== 'open' || r.level === 0) continue;
    r.status = 'acknowledged';
    r.acknowledgedBy = by;
    r.acknowledgedAt = iso(nowMs);
    r.nextLevelAt = null;
    events.push({ type: 'escalation_acknowledged', data: { escalation: r.number, reason: r.reason, level: r.level, note } });
  }
  return events;
}

/** The cause went away (an assignment, the completion, the follow-up, the review, a resume): the escalations for it end. */
export function resolveEscalations(
  records: EscalationRecord[], reasons: readonly EscalationReason[] | 'all', nowMs: number, cause: string,
): ChainEvent[] {
  const events: ChainEvent[] = [];
  for (const r of records) {
    if (r.status === 'resolved' || (reasons !== 'all' && !reasons.includes(r.reason))) continue;
    r.status = 'resolved';
    r.resolvedAt = iso(nowMs);
    r.nextLevelAt = null;
    if (r.level > 0) events.push({ type: 'escalation_resolved', data: { escalation: r.number, reason: r.reason, level: r.level, cause } });
  }
  return events;
}

/** The escalations the read model lists: those that reached a level. */
export const visibleEscalations = (records: readonly EscalationRecord[]) => records.filter((r) => r.level > 0);

/** What the read model keeps of the clocks (the escalations table is written from `escalations`). */
export function clockDetails(state: { escalations?: EscalationRecord[]; onHold?: unknown; held?: unknown; provisionalDeadlines?: string[] }): Record<string, unknown> {
  if (!state.escalations) return {};
  return {
    escalations: visibleEscalations(state.escalations),
    escalation: currentEscalation(state.escalations),
    onHold: state.onHold ?? null,
    held: state.held ?? { count: 0, workingMs: 0 },
    provisionalDeadlines: state.provisionalDeadlines ?? [],
  };
}
