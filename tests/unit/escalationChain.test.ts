/** The escalation chain (逐级督办) as pure steps: raise, climb on the policy's calendar, acknowledge, resolve. */
import { BUILT_IN_CALENDARS, snapshotCalendar } from '../../src/domain/calendars';
import type { EscalationRecord } from '../../src/domain/escalation';
import { currentEscalation } from '../../src/domain/escalation';
import {
  acknowledgeEscalations, climbEscalations, hasOpenEscalation, nextEscalationStepAt, raiseEscalation, resolveEscalations,
} from '../../src/domain/escalationChain';
import { stepsInMs, type SlaClockSnapshot } from '../../src/domain/slaClock';

const fast: SlaClockSnapshot = { escalationSteps: stepsInMs([{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT3S' }, { level: 3, after: 'PT6S' }]) };
const t0 = Date.parse('2026-03-06T08:00:00Z');

describe('an escalation on the always calendar with steps PT0S, PT3S, PT6S', () => {
  it('is raised at level 1 at once, climbs to 2 after 3 s and to 3 after 6 s, then stays', () => {
    const records: EscalationRecord[] = [];
    expect(raiseEscalation(records, 'fulfilment_overdue', t0, fast).map((e) => [e.type, e.data.level])).toEqual([['escalation_raised', 1]]);
    expect(nextEscalationStepAt(records)).toBe(t0 + 3000);
    expect(climbEscalations(records, t0 + 2999, fast)).toEqual([]);
    expect(climbEscalations(records, t0 + 3000, fast).map((e) => [e.type, e.data.level, e.notify?.level])).toEqual([['escalation_level_raised', 2, 2]]);
    expect(climbEscalations(records, t0 + 6000, fast).map((e) => e.data.level)).toEqual([3]);
    expect(nextEscalationStepAt(records)).toBeNull();
    expect(currentEscalation(records)).toEqual({ level: 3, reason: 'fulfilment_overdue', since: new Date(t0).toISOString() });
  });

  it('climbs every level that came due while nobody looked (a worker down for a minute)', () => {
    const records: EscalationRecord[] = [];
    raiseEscalation(records, 'no_partner', t0, fast);
    expect(climbEscalations(records, t0 + 60_000, fast).map((e) => e.data.level)).toEqual([2, 3]);
  });

  it('stops at level 2 when acknowledged, and ends when its cause goes away', () => {
    const records: EscalationRecord[] = [];
    raiseEscalation(records, 'fulfilment_overdue', t0, fast);
    climbEscalations(records, t0 + 3000, fast);
    const ack = acknowledgeEscalations(records, 'supervisor:k1', '我来处理', t0 + 4000);
    expect(ack.map((e) => [e.type, e.data.level])).toEqual([['escalation_acknowledged', 2]]);
    expect(hasOpenEscalation(records)).toBe(false);
    expect(climbEscalations(records, t0 + 60_000, fast)).toEqual([]);
    expect(currentEscalation(records)).toMatchObject({ level: 2, acknowledgedBy: 'supervisor:k1' });
    expect(resolveEscalations(records, ['fulfilment_overdue'], t0 + 70_000, 'completed').map((e) => e.type)).toEqual(['escalation_resolved']);
    expect(currentEscalation(records)).toBeNull();
  });

  it('raises one escalation per unresolved cause, and a new one after the old was resolved', () => {
    const records: EscalationRecord[] = [];
    raiseEscalation(records, 'hold_too_long', t0, fast);
    expect(raiseEscalation(records, 'hold_too_long', t0 + 1000, fast)).toEqual([]);
    resolveEscalations(records, ['hold_too_long'], t0 + 2000, 'resumed');
    expect(raiseEscalation(records, 'hold_too_long', t0 + 5000, fast)[0].data.escalation).toBe(2);
  });
});

describe('on cn-office the waits are working time', () => {
  it('the default steps (PT0S, PT4H, P1D) raised on a Friday at 16:00 climb on Monday 11:00 and Wednesday 17:30', () => {
    const from = Date.parse('2026-03-06T16:00:00+08:00');
    const sla: SlaClockSnapshot = { calendar: snapshotCalendar(BUILT_IN_CALENDARS['cn-office'], from) };
    const records: EscalationRecord[] = [];
    raiseEscalation(records, 'review_overdue', from, sla);
    expect(records[0].nextLevelAt).toBe('2026-03-09T03:00:00.000Z');
    climbEscalations(records, Date.parse('2026-03-09T03:00:00Z'), sla);
    expect(records[0].nextLevelAt).toBe('2026-03-11T09:30:00.000Z');
  });

  it('a first step that waits keeps the escalation out of sight until it is due', () => {
    const sla: SlaClockSnapshot = { escalationSteps: stepsInMs([{ level: 1, after: 'PT1H' }, { level: 2, after: 'PT2H' }]) };
    const records: EscalationRecord[] = [];
    expect(raiseEscalation(records, 'low_survey_score', t0, sla)).toEqual([]);
    expect(currentEscalation(records)).toBeNull();
    expect(climbEscalations(records, t0 + 3_600_000, sla).map((e) => e.type)).toEqual(['escalation_raised']);
  });
});
