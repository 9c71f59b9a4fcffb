/**
 * The messages of the care-plan workflow, shared by workflow code and the API. Every action
 * is an Update (the caller gets the plan's new state; validators reject what the state
 * forbids: 409, another partner's visit: 403, a schedule that makes no sense: 400).
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CarePlanState, CareSchedule, CareService, CheckInFacts, CheckOutFacts } from '../domain/carePlan';

interface ByActor { actor: string }

export interface CheckInVisit extends ByActor, CheckInFacts { partnerId: string; visitId: string }
export interface CheckOutVisit extends ByActor, CheckOutFacts { partnerId: string; visitId: string }
export interface CancelVisit extends ByActor { visitId: string; reason: string }
export interface PauseCarePlan extends ByActor { reason: string }
export type ResumeCarePlan = ByActor;
export interface EndCarePlan extends ByActor { reason: string }
export interface AcknowledgeEscalation extends ByActor { note: string }

/** `PATCH /v1/care-plans/{id}`: what changes from the next visit on (schedule fields are merged into the current schedule). */
export interface ChangeCarePlan extends ByActor {
  schedule?: Partial<CareSchedule>;
  partnerId?: string;
  services?: CareService[];
  endsAt?: string | null;
}

export const getCarePlanState = defineQuery<CarePlanState>('getCarePlanState');

export const checkInVisit = defineUpdate<CarePlanState, [CheckInVisit]>('checkInVisit');
export const checkOutVisit = defineUpdate<CarePlanState, [CheckOutVisit]>('checkOutVisit');
export const cancelVisit = defineUpdate<CarePlanState, [CancelVisit]>('cancelVisit');
export const changeCarePlan = defineUpdate<CarePlanState, [ChangeCarePlan]>('changeCarePlan');
export const pauseCarePlan = defineUpdate<CarePlanState, [PauseCarePlan]>('pauseCarePlan');
export const resumeCarePlan = defineUpdate<CarePlanState, [ResumeCarePlan]>('resumeCarePlan');
export const endCarePlan = defineUpdate<CarePlanState, [EndCarePlan]>('endCarePlan');
export const acknowledgeCareEscalation = defineUpdate<CarePlanState, [AcknowledgeEscalation]>('acknowledgeCareEscalation');

export const carePlanWorkflowId = (caseId: string): string => `care-plan:${caseId}`;
