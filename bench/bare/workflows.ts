/**
 * The lifecycle baseline: a bare workflow with the shape of a resident request (the same
 * activities and updates in the same order) and nothing else: no state machine, no
 * deadlines (timers), no read model, no search attributes, no payload codec.
 * Bundled on its own for its own task queue by bench/lifecycle.bench.ts.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { ApplicationFailure, allHandlersFinished, condition, defineUpdate, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { BareActivities } from './activities';

const { record, select, webhook } = proxyActivities<BareActivities>({ startToCloseTimeout: '30 seconds' });

export const bareAccept = defineUpdate<string, [string]>('bareAccept');
export const bareComplete = defineUpdate<string, [string]>('bareComplete');
export const bareFollowUp = defineUpdate<string, [string]>('bareFollowUp');
export const bareSurvey = defineUpdate<string, [string]>('bareSurvey');

export interface BareCaseInput {
  caseId: string;
  partnerId: string;
  /** Diagnostics: also mirror each new status in a search attribute, as the case workflows do (6 upserts). */
  upsertStatus?: boolean;
}

const caseStatus = defineSearchAttributeKey('CaseStatus', SearchAttributeType.KEYWORD);

/** 9 activities and 4 updates, like a case that is dispatched once, accepted, completed, visited and rated. */
export async function bareCase(input: BareCaseInput): Promise<string> {
  let step = 'dispatching';
  /** Transitions not yet recorded: one record activity per update, even when two updates land in one workflow task. */
  const unrecorded: string[] = [];
  const transition = (from: string, to: string) => {
    setHandler(UPDATES[to], (actor: string) => {
      step = to;
      unrecorded.push(to);
      return `${step} by ${actor}`;
    }, { validator: (_actor: string) => { if (step !== from) throw ApplicationFailure.nonRetryable(`cannot move from ${step} to ${to}`); } });
  };
  transition('awaiting_ack', 'in_progress');
  transition('in_progress', 'awaiting_follow_up');
  transition('awaiting_follow_up', 'awaiting_survey');
  transition('awaiting_survey', 'closed');

  const mirror = (status: string) => { if (input.upsertStatus) upsertSearchAttributes([{ key: caseStatus, value: status }]); };
  await record(input.caseId, 'intake');
  mirror(step);
  await select(input.caseId);
  step = 'awaiting_ack';
  await record(input.caseId, 'dispatched');
  mirror(step);
  await webhook(input.caseId, input.partnerId);
  await record(input.caseId, 'notification_delivered');
  for (let recorded = 0; recorded < 4; recorded++) {
    await condition(() => unrecorded.length > 0);
    const next = unrecorded.shift()!;
    await record(input.caseId, next);
    mirror(next);
  }
  await condition(allHandlersFinished);
  return step;
}

const UPDATES: Record<string, typeof bareAccept> = {
  in_progress: bareAccept, awaiting_follow_up: bareComplete, awaiting_survey: bareFollowUp, closed: bareSurvey,
};

// ---- registration: the same activities and updates as a registration case (bench/caseLifecycles.bench.ts) ----

export const bareReview = defineUpdate<string, [string]>('bareReview');
export const bareDelivered = defineUpdate<string, [string]>('bareDelivered');
export const bareRegistrationSurvey = defineUpdate<string, [string]>('bareRegistrationSurvey');

/** The three departments that review at the same time; `webhook(caseId, 'bank')` is the linked institution's notice. */
export const BARE_DEPARTMENTS = ['tax', 'housing', 'natural_resources'] as const;

/**
 * 18 activities and 5 updates, like a complete registration with one linked institution:
 * intake and acceptance written; three reviewers chosen and the requests written; three
 * review requests delivered at once and written; each answer written; the certificate
 * number drawn and written; the bank's notice delivered and written; delivery and survey written.
 */
export async function bareRegistration(input: { caseId: string }): Promise<string> {
  let step = 'in_review';
  const answered = new Set<string>();
  const unrecorded: string[] = [];
  setHandler(bareReview, (department: string) => {
    answered.add(department);
    unrecorded.push(`review_${department}`);
    if (answered.size === BARE_DEPARTMENTS.length) step = 'issuing';
    return step;
  }, { validator: (department: string) => { if (step !== 'in_review' || answered.has(department)) throw ApplicationFailure.nonRetryable(`cannot review in ${step}`); } });
  const simple = (def: typeof bareDelivered, from: string, to: string) => setHandler(def, (_actor: string) => {
    step = to;
    unrecorded.push(to);
    return step;
  }, { validator: (_actor: string) => { if (step !== from) throw ApplicationFailure.nonRetryable(`cannot move from ${step} to ${to}`); } });
  simple(bareDelivered, 'awaiting_delivery', 'awaiting_survey');
  simple(bareRegistrationSurvey, 'awaiting_survey', 'closed');
  const recordNext = async () => {
    await condition(() => unrecorded.length > 0);
    await record(input.caseId, unrecorded.shift()!);
  };

  await record(input.caseId, 'intake');
  await Promise.all(BARE_DEPARTMENTS.map(() => select(input.caseId)));
  await record(input.caseId, 'review_requested');
  await Promise.all(BARE_DEPARTMENTS.map((department) => webhook(input.caseId, department)));
  await record(input.caseId, 'notification_delivered');
  for (let i = 0; i < BARE_DEPARTMENTS.length; i++) await recordNext();
  await select(input.caseId); // the certificate number
  step = 'awaiting_delivery';
  await record(input.caseId, 'certificate_issued');
  await webhook(input.caseId, 'bank');
  await record(input.caseId, 'notification_delivered');
  await recordNext();
  await recordNext();
  await condition(allHandlersFinished);
  return step;
}

// ---- care plan: the same activities, updates and schedule as a care plan (bench/caseLifecycles.bench.ts) ----

export const bareCheckIn = defineUpdate<string, [number]>('bareCheckIn');
export const bareCheckOut = defineUpdate<string, [number]>('bareCheckOut');
export const bareEndPlan = defineUpdate<string, [string]>('bareEndPlan');

export interface BareCarePlanInput {
  caseId: string;
  /** When visit 1 is due; visit n is due `everyMs` after visit n-1, and is announced when visit n-1 comes due (the first at once). */
  firstVisitAtMs: number;
  everyMs: number;
  /** Visits scheduled in all (the plan's end date leaves no room for more). */
  visits: number;
}

/**
 * Like a care plan: each visit announced (its row written, the partner's webhook, the
 * timeline written: 3 activities) on the plan's rhythm; check-in and check-out each write
 * the visit and the timeline (2 activities); the end cancels the visits still scheduled
 * (one webhook each), tells the partner (one more) and writes rows and timeline.
 */
export async function bareCarePlan(input: BareCarePlanInput): Promise<string> {
  const visits = new Map<number, string>();
  const unrecorded: ('visit' | 'end')[] = [];
  let status = 'active';
  let next = 1;
  let announceAt = Date.now();
  setHandler(bareCheckIn, (visit: number) => { visits.set(visit, 'in_progress'); unrecorded.push('visit'); return 'in_progress'; },
    { validator: (visit: number) => { if (status !== 'active' || visits.get(visit) !== 'scheduled') throw ApplicationFailure.nonRetryable(`visit ${visit} is ${visits.get(visit)}`); } });
  setHandler(bareCheckOut, (visit: number) => { visits.set(visit, 'completed'); unrecorded.push('visit'); return 'completed'; },
    { validator: (visit: number) => { if (visits.get(visit) !== 'in_progress') throw ApplicationFailure.nonRetryable(`visit ${visit} is ${visits.get(visit)}`); } });
  setHandler(bareEndPlan, (_actor: string) => { status = 'ended'; unrecorded.push('end'); return status; },
    { validator: (_actor: string) => { if (status !== 'active' || [...visits.values()].includes('in_progress')) throw ApplicationFailure.nonRetryable('cannot end now'); } });

  for (;;) {
    if (status === 'active' && next <= input.visits && Date.now() >= announceAt) {
      const visit = next++;
      visits.set(visit, 'scheduled');
      announceAt = input.firstVisitAtMs + (visit - 1) * input.everyMs;
      await record(input.caseId, 'visit row');
      await webhook(input.caseId, `visit-${visit}`);
      await record(input.caseId, 'visit_scheduled');
      continue;
    }
    const change = unrecorded.shift();
    if (change === 'visit') {
      await record(input.caseId, 'visit row');
      await record(input.caseId, 'visit');
      continue;
    }
    if (change === 'end') {
      const scheduled = [...visits].filter(([, s]) => s === 'scheduled');
      for (const [visit] of scheduled) visits.set(visit, 'cancelled');
      await record(input.caseId, 'visit rows');
      for (const [visit] of scheduled) await webhook(input.caseId, `cancelled-${visit}`);
      await webhook(input.caseId, 'plan.ended');
      await record(input.caseId, 'plan_ended');
      break;
    }
    const wait = status === 'active' && next <= input.visits ? announceAt - Date.now() : null;
    if (wait === null) await condition(() => unrecorded.length > 0);
    else if (wait > 0) await condition(() => unrecorded.length > 0, wait);
  }
  await condition(allHandlersFinished);
  return status;
}
