/**
 * The escalation chain (逐级督办): a late or stuck case is taken up first by the grid leader
 * (level 1), then by the community (2), then by the street office (3), each step after its wait
 * on the policy's calendar, unless someone acknowledges it or its cause goes away.
 */
import { parseIsoDuration } from './duration';

export const ESCALATION_LEVELS = [1, 2, 3] as const;
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number];
export const ESCALATION_LEVEL_NAMES: Record<EscalationLevel, string> = { 1: 'grid (网格长)', 2: 'community (社区)', 3: 'street office (街道)' };

/** `after` counts from the escalation's start, as working time on the policy's calendar. */
export interface EscalationStep { level: number; after: string }

export const DEFAULT_ESCALATION_STEPS: readonly EscalationStep[] = [
  { level: 1, after: 'PT0S' }, { level: 2, after: 'PT4H' }, { level: 3, after: 'P1D' },
];

export const DEFAULT_MAX_HOLD = 'P7D';

/** What is wrong with a list of steps: levels above 3, levels or waits out of order. */
export function escalationStepProblems(steps: readonly EscalationStep[]): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  steps.forEach((s, i) => {
    if (i === 0) return;
    const prev = steps[i - 1];
    if (s.level <= prev.level) problems.push({ path: [i, 'level'], message: `levels must ascend: ${s.level} comes after ${prev.level}` });
    const [a, b] = [parseIsoDuration(prev.after), parseIsoDuration(s.after)];
    if (a !== null && b !== null && b <= a) problems.push({ path: [i, 'after'], message: `each step waits longer than the one before: ${s.after} is not after ${prev.after}` });
  });
  return problems;
}

/** Why an escalation was raised (docs/sla-clocks.md, the escalation chain). */
export const ESCALATION_REASONS = [
  'no_partner', 'fulfilment_overdue', 'follow_up_overdue', 'low_survey_score', 'review_overdue', 'care_visit_missed', 'hold_too_long',
] as const;
export type EscalationReason = (typeof ESCALATION_REASONS)[number];

export const ESCALATION_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type EscalationStatus = (typeof ESCALATION_STATUSES)[number];

/**
 * One escalation of a case, as the workflow keeps it and the read model lists it. A case may
 * have several over its life (`number` 1, 2, ...); at most one is not resolved at a time per reason.
 */
export interface EscalationRecord {
  number: number;
  reason: EscalationReason;
  level: number;
  status: EscalationStatus;
  /** When the escalation started (its cause), ISO. */
  since: string;
  /** When it reached its current level. */
  levelSince: string;
  /** When it climbs next (open ones only), else null. */
  nextLevelAt: string | null;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  resolvedAt?: string;
}

/** What GET of a case shows as `escalation`: the most pressing one not resolved, or null. */
export function currentEscalation(records: readonly EscalationRecord[]):
  { level: number; reason: EscalationReason; since: string; acknowledgedBy?: string; acknowledgedAt?: string } | null {
  const live = records.filter((r) => r.status !== 'resolved' && r.level > 0).sort((a, b) => b.level - a.level || a.since.localeCompare(b.since));
  const top = live[0];
  if (!top) return null;
  return {
    level: top.level, reason: top.reason, since: top.since,
    ...(top.acknowledgedBy ? { acknowledgedBy: top.acknowledgedBy, acknowledgedAt: top.acknowledgedAt } : {}),
  };
}
