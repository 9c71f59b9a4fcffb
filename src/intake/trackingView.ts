/**
 * What a resident sees by a tracking code (GET /v1/track/{code}): the case type, its status,
 * the steps so far, when the current step is due and who serves it. Built only from fixed
 * phrases, the status, event types and times, deadlines and the partner's organisation name:
 * never a name, phone, address, ID number, description or note.
 */
import type { TrackedCase } from '../db/trackingCodes';
import { CASE_TYPE_LABELS, type Lang, phrase, STATUS_LABELS, STEP_LABELS } from './trackMessages';

export interface TrackingView {
  caseType: string;
  caseTypeLabel: string;
  status: string;
  statusLabel: string;
  steps: { key: string; label: string; at: string }[];
  expectedBy?: string;
  partnerName?: string;
}

const TERMINAL = new Set(['closed', 'cancelled', 'rejected', 'withdrawn']);

export function trackingView(c: TrackedCase, lang: Lang): TrackingView {
  const status = c.status ?? 'received';
  const steps: TrackingView['steps'] = [];
  for (const s of c.steps) {
    if (!STEP_LABELS[s.type]) continue;
    // Three departments' review requests are one step for the applicant.
    if (steps.length && steps[steps.length - 1].key === s.type) continue;
    steps.push({ key: s.type, label: phrase(STEP_LABELS, s.type, lang), at: s.at.toISOString() });
  }
  if (steps.length === 0) steps.push({ key: 'intake', label: phrase(STEP_LABELS, 'intake', lang), at: c.codeIssuedAt.toISOString() });
  const expected = TERMINAL.has(status) ? undefined : currentDeadline(c);
  return {
    caseType: c.caseType, caseTypeLabel: phrase(CASE_TYPE_LABELS, c.caseType, lang),
    status, statusLabel: phrase(STATUS_LABELS, status, lang), steps,
    ...(expected ? { expectedBy: expected.toISOString() } : {}),
    ...(c.partnerName ? { partnerName: c.partnerName } : {}),
  };
}

/**
 * The deadline of the step the case is in: the read model keeps only the open deadlines of
 * the current step(s), so the soonest of them (also Open311's expected_datetime).
 */
export function currentDeadline(c: Pick<TrackedCase, 'deadlines'>): Date | undefined {
  return c.deadlines[0]?.dueAt;
}
