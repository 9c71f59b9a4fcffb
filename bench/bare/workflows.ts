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
