/**
 * The messages of the case workflows, shared by workflow code and the API.
 * Updates are used where the caller waits for the new state (their validators
 * reject forbidden actions, which the API answers with 409 or 403).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CaseSnapshot } from '../domain/caseEvents';
import { caseWorkflowId } from '../domain/caseTypes';
import type { HoldReason, ServiceRequestState } from '../domain/serviceRequest';
import type { DocumentCode, RegistrationState } from '../domain/registration';
import type { Department } from '../domain/vocabulary';

/** ApplicationFailure types thrown by validators; the API maps them to HTTP statuses. */
export const FAILURE_INVALID_STATE = 'InvalidCaseState'; // 409
export const FAILURE_NOT_YOUR_ORDER = 'NotYourOrder'; // 403
export const FAILURE_BAD_REQUEST = 'InvalidCaseAction'; // 400

interface ByActor { actor: string }
interface ByPartner extends ByActor { partnerId: string }

export type AcceptOrder = ByPartner;
export interface DeclineOrder extends ByPartner { reason: string }
export interface ReportProgress extends ByPartner { note: string }
export interface CompleteOrder extends ByPartner { note: string; hoursSpent?: number | null }
export interface RequestExtension extends ByPartner { extraTime: string; extraTimeMs: number; reason: string }
export interface AssignPartner extends ByActor { partnerId: string }
export interface DecideExtension extends ByActor { approve: boolean }
export interface RecordFollowUp extends ByActor { resolved: boolean; note: string }
export interface RecordSurvey extends ByActor { score: number; comment?: string | null }
export interface CancelCase extends ByActor { reason: string }

export const getServiceRequestState = defineQuery<ServiceRequestState>('getServiceRequestState');

export const acceptOrder = defineUpdate<ServiceRequestState, [AcceptOrder]>('acceptOrder');
export const declineOrder = defineUpdate<ServiceRequestState, [DeclineOrder]>('declineOrder');
export const reportProgress = defineUpdate<ServiceRequestState, [ReportProgress]>('reportProgress');
export const completeOrder = defineUpdate<ServiceRequestState, [CompleteOrder]>('completeOrder');
export const requestExtension = defineUpdate<ServiceRequestState, [RequestExtension]>('requestExtension');
export const assignPartner = defineUpdate<ServiceRequestState, [AssignPartner]>('assignPartner');
export const decideExtension = defineUpdate<ServiceRequestState, [DecideExtension]>('decideExtension');
export const recordFollowUp = defineUpdate<ServiceRequestState, [RecordFollowUp]>('recordFollowUp');
export const recordSurvey = defineUpdate<ServiceRequestState, [RecordSurvey]>('recordSurvey');
export const cancelServiceRequest = defineUpdate<ServiceRequestState, [CancelCase]>('cancelServiceRequest');

// ---- holds and the escalation chain (docs/sla-clocks.md) ----

/** The partner of the order or staff; `partnerId` set when a partner asks. */
export interface HoldOrder extends ByActor { reason: HoldReason; note?: string | null; partnerId?: string | null }
export interface ResumeOrder extends ByActor { partnerId?: string | null }
export interface AcknowledgeEscalation extends ByActor { note: string }

export const holdOrder = defineUpdate<ServiceRequestState, [HoldOrder]>('holdOrder');
export const resumeOrder = defineUpdate<ServiceRequestState, [ResumeOrder]>('resumeOrder');
export const acknowledgeEscalation = defineUpdate<ServiceRequestState, [AcknowledgeEscalation]>('acknowledgeEscalation');

/** Workflow ids are business keys; the prefixes live in the case-type registry. */
export const serviceRequestWorkflowId = (caseId: string): string => caseWorkflowId('service_request', caseId);
export const registrationWorkflowId = (caseId: string): string => caseWorkflowId('registration', caseId);

// ---- registration cases (不动产登记) ----

export interface SupplementDocuments extends ByActor { documents: DocumentCode[] }
export interface RecordReview extends ByPartner { department: Department; approved: boolean; reason?: string | null }
export interface MarkDelivered extends ByActor { note?: string | null }
/** A supervisor sends a pending review to another partner of its department (checked by the API: active, that department). */
export interface AssignReviewer extends ByActor { department: Department; partnerId: string; partnerName: string }

export const getRegistrationState = defineQuery<RegistrationState>('getRegistrationState');

export const supplementDocuments = defineUpdate<RegistrationState, [SupplementDocuments]>('supplementDocuments');
export const recordReview = defineUpdate<RegistrationState, [RecordReview]>('recordReview');
export const markDelivered = defineUpdate<RegistrationState, [MarkDelivered]>('markDelivered');
export const recordRegistrationSurvey = defineUpdate<RegistrationState, [RecordSurvey]>('recordRegistrationSurvey');
export const cancelRegistration = defineUpdate<RegistrationState, [CancelCase]>('cancelRegistration');
export const assignReviewer = defineUpdate<RegistrationState, [AssignReviewer]>('assignReviewer');
export const acknowledgeRegistrationEscalation = defineUpdate<RegistrationState, [AcknowledgeEscalation]>('acknowledgeRegistrationEscalation');

// ---- read-model reconciliation (`npm run reconcile`; every workflow that uses CaseRecorder) ----

/** What a case workflow has recorded and written to the read model, for the reconciler to compare with Postgres. */
export interface ReadModelState {
  snapshot: CaseSnapshot;
  /** Seq of the last event recorded. */
  recordedSeq: number;
  /** Seq of the last event the read-model activity has confirmed; below recordedSeq while a write is pending. */
  writtenSeq: number;
}

export const getReadModelState = defineQuery<ReadModelState>('getReadModelState');
/** Re-send the whole timeline and the current snapshot at the next flush (the upserts make repeats harmless). */
export const resyncReadModel = defineSignal('resyncReadModel');
