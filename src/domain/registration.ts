/**
 * 不动产登记: the registration case of docs/domain.md. Business types, the documents each one
 * needs (the completeness check of 一次性告知), statuses, the certificate number, and the
 * "same day, 20 minutes" measure. Pure: safe to import from workflow code.
 */
import type { EscalationRecord } from './escalation';
import { clockDetails, nextEscalationStepAt } from './escalationChain';
import type { SlaSource } from './sla';
import type { CaseRunInput, CaseSnapshot } from './caseEvents';
import { type DepartmentReviews, earliestPendingDue } from './departmentReview';
import type { RegistrationSlaSnapshot } from './sla';
import type { Department } from './vocabulary';

export const BUSINESS_TYPES = ['transfer', 'mortgage', 'first_registration', 'change', 'cancellation'] as const;
export type BusinessType = (typeof BUSINESS_TYPES)[number];

/** Every document the window accepts, with the name staff and applicants know it by. */
export const DOCUMENTS = {
  applicant_id: '申请人身份证明',
  property_certificate: '不动产权证书',
  sale_contract: '不动产买卖合同',
  tax_receipt: '完税凭证',
  mortgage_contract: '抵押合同',
  loan_contract: '借款合同',
  land_use_certificate: '土地权属来源证明',
  completion_certificate: '房屋竣工验收证明',
  cadastral_survey: '不动产权籍调查成果',
  change_evidence: '变更事项证明材料',
  cancellation_evidence: '注销原因证明材料',
} as const;
export type DocumentCode = keyof typeof DOCUMENTS;
export const DOCUMENT_CODES = Object.keys(DOCUMENTS) as [DocumentCode, ...DocumentCode[]];

/** The required documents of each business type (docs/registration.md shows the same table). */
export const REQUIRED_DOCUMENTS: Readonly<Record<BusinessType, readonly DocumentCode[]>> = {
  transfer: ['applicant_id', 'property_certificate', 'sale_contract', 'tax_receipt'],
  mortgage: ['applicant_id', 'property_certificate', 'mortgage_contract', 'loan_contract'],
  first_registration: ['applicant_id', 'land_use_certificate', 'completion_certificate', 'cadastral_survey'],
  change: ['applicant_id', 'property_certificate', 'change_evidence'],
  cancellation: ['applicant_id', 'property_certificate', 'cancellation_evidence'],
};

/** 一次性告知: every document still missing, in the order of the requirement list, so it is told all at once. */
export function missingDocuments(type: BusinessType, handedIn: readonly string[]): DocumentCode[] {
  return REQUIRED_DOCUMENTS[type].filter((code) => !handedIn.includes(code));
}

export const REGISTRATION_STATUSES = [
  'awaiting_documents', 'in_review', 'rejected', 'issuing', 'awaiting_delivery', 'awaiting_survey', 'closed', 'withdrawn',
] as const;
export type RegistrationStatus = (typeof REGISTRATION_STATUSES)[number];

/** 送证: at the window, by post, or a home visit (上门服务) for those who cannot come. */
export const DELIVERY_METHODS = ['window', 'post', 'home_visit'] as const;
export type DeliveryMethod = (typeof DELIVERY_METHODS)[number];

export interface Applicant {
  name: string;
  /** 18-character PRC resident ID number. */
  idNumber: string;
  phone: string;
}

export interface Property {
  address: string;
  unitNo?: string;
  /** The existing certificate's number, for business on an already registered property. */
  certificateNo?: string;
}

/** The body of `POST /v1/registrations` (一窗受理). */
export interface RegistrationIntake {
  applicants: Applicant[];
  property: Property;
  businessType: BusinessType;
  documents: DocumentCode[];
  delivery: DeliveryMethod;
  /** Partner ids of the linked institutions (bank, provident fund, notary, court) to notify. */
  linkedInstitutions?: string[];
  /** The applicant's community, when known: it puts the case in the scope of that community's staff and supervisors. */
  community?: string;
}

export interface RegistrationWorkflowInput extends CaseRunInput<RegistrationState, RegistrationMemory> {
  caseId: string;
  intake: RegistrationIntake;
  sla: RegistrationSlaSnapshot;
  /** Who opened it, e.g. `staff:<key id>`. */
  openedBy: string;
  /** When the API accepted it (the workflow's createdAt, so the API can answer before a worker runs). */
  openedAt: string;
}

/** What the workflow keeps besides the state it shows: carried across continue-as-new. */
export interface RegistrationMemory {
  /** Departments whose review has no reviewer yet (new, or none was available last time). */
  reviewsToRequest: Department[];
  /** Reviews a supervisor sent to a partner by hand, whose `review.requested` is still to go out. */
  reviewsToSend?: { department: Department; partnerName: string }[];
  /** The linked institutions were told at the certificate (`notice-at-issue`), so not again at delivery. */
  noticedAtIssue?: boolean;
}

/** Acceptance (documents complete) to certificate, against the completion target. */
export interface CertificateTiming {
  timeToCertificateMs: number;
  completionTargetMs: number;
  withinCompletionTarget: boolean;
  /** Certificate issued on the calendar day of acceptance in China (Asia/Shanghai). */
  sameDay: boolean;
}

/** The live state of a registration case (returned by the workflow's query and by every update). */
export interface RegistrationState {
  id: string;
  caseType: 'registration';
  status: RegistrationStatus;
  businessType: BusinessType;
  applicants: Applicant[];
  property: Property;
  community: string | null;
  delivery: DeliveryMethod;
  linkedInstitutions: string[];
  /** Documents handed in so far (intake and supplements). */
  documents: DocumentCode[];
  missingDocuments: DocumentCode[];
  reviews: DepartmentReviews;
  certificateNo: string | null;
  /** The "same day, 20 minutes" measure: null until the certificate is issued (the target is known from the start). */
  timeToCertificateMs: number | null;
  completionTargetMs: number;
  withinCompletionTarget: boolean | null;
  sameDay: boolean | null;
  overdue: boolean;
  deadlines: { supplement?: string; survey?: string };
  rejection: { department: Department; partnerId: string; reason: string; at: string } | null;
  delivered: { method: DeliveryMethod; note: string | null; by: string; at: string } | null;
  survey: { score: number; comment: string | null; at: string } | null;
  /** Why it was withdrawn: the staff's reason, or the supplement window elapsing. */
  withdrawal: { reason: string; by: string } | null;
  sla: SlaSource;
  createdAt: string;
  /** 受理: when the documents became complete; the SLA clock starts here. */
  acceptedAt: string | null;
  certificateIssuedAt: string | null;
  closedAt: string | null;
  outcome: 'satisfied' | 'unsatisfied' | 'no_response' | null;
  // ---- working-day clocks and the escalation chain (docs/sla-clocks.md); absent in cases opened before ----
  escalations?: EscalationRecord[];
  provisionalDeadlines?: string[];
  /** Working time from acceptance to the certificate, on the policy's calendar (what the completion target is judged on). */
  workingTimeToCertificateMs?: number | null;
}

/** The state a case starts in (complete documents go straight to review): the API answers with it before any worker has run the workflow. */
export function initialRegistrationState(input: RegistrationWorkflowInput): RegistrationState {
  const { intake } = input;
  const missing = missingDocuments(intake.businessType, intake.documents);
  return {
    id: input.caseId, caseType: 'registration', status: missing.length > 0 ? 'awaiting_documents' : 'in_review',
    businessType: intake.businessType,
    applicants: intake.applicants, property: intake.property, community: intake.community ?? null, delivery: intake.delivery,
    linkedInstitutions: intake.linkedInstitutions ?? [], documents: [...intake.documents],
    missingDocuments: missing, reviews: {}, certificateNo: null, timeToCertificateMs: null,
    completionTargetMs: input.sla.completionTargetMs, withinCompletionTarget: null, sameDay: null, overdue: false, deadlines: {}, rejection: null, delivered: null, survey: null, withdrawal: null, sla: input.sla.source,
    createdAt: input.openedAt, acceptedAt: null, certificateIssuedAt: null, closedAt: null, outcome: null,
  };
}

/** The case's open deadlines by kind, as the read model and `GET /v1/timeouts` list them. */
export function openRegistrationDeadlines(s: RegistrationState): Record<string, string> {
  const review = s.status === 'in_review' ? earliestPendingDue(s.reviews) : undefined;
  const next = nextEscalationStepAt(s.escalations ?? []);
  const escalation = next === null ? undefined : new Date(next).toISOString();
  const open = { supplement: s.deadlines.supplement, review, survey: s.deadlines.survey, escalation };
  return Object.fromEntries(Object.entries(open).filter(([, at]) => at !== undefined)) as Record<string, string>;
}

/** The read-model row of the case (type `registration`, category = business type, acceptance as acknowledgement). */
export function registrationSnapshot(s: RegistrationState, workflowId: string): CaseSnapshot {
  return {
    id: s.id, type: 'registration', workflowId, status: s.status, category: s.businessType, urgency: null,
    community: s.community, partnerId: null, overdue: s.overdue, reopenCount: 0, dispatchAttempts: 0,
    deadlines: openRegistrationDeadlines(s), createdAt: s.createdAt, acknowledgedAt: s.acceptedAt,
    completedAt: s.certificateIssuedAt, closedAt: s.closedAt, outcome: s.outcome, satisfaction: s.survey?.score ?? null,
    details: {
      applicants: s.applicants, property: s.property, delivery: s.delivery, documents: s.documents,
      missingDocuments: s.missingDocuments, reviews: s.reviews, certificateNo: s.certificateNo,
      linkedInstitutions: s.linkedInstitutions, delivered: s.delivered, rejection: s.rejection, withdrawal: s.withdrawal,
      survey: s.survey, sla: s.sla,
      // The "same day, 20 minutes" measure, for the case view and the reports.
      timeToCertificateMs: s.timeToCertificateMs, completionTargetMs: s.completionTargetMs,
      withinCompletionTarget: s.withinCompletionTarget, sameDay: s.sameDay,
      ...(s.escalations ? { workingTimeToCertificateMs: s.workingTimeToCertificateMs ?? null } : {}),
      ...clockDetails(s),
    },
  };
}

/** What a department needs to review the case (the `case` of its `review.requested`). */
export function reviewRequestCase(s: RegistrationState, department: Department): Record<string, unknown> {
  return { department, businessType: s.businessType, property: s.property, applicants: s.applicants, documents: s.documents };
}

/** What a linked institution is told (`case.notice`): the outcome, and whom it concerns by name only. */
export function linkedInstitutionNotice(s: RegistrationState): Record<string, unknown> {
  return {
    notice: 'registration_completed', businessType: s.businessType, certificateNo: s.certificateNo,
    certificateIssuedAt: s.certificateIssuedAt, property: s.property, applicants: s.applicants.map(({ name }) => ({ name })),
    delivery: s.delivery, deliveredAt: s.delivered?.at,
  };
}

// ---- the certificate ----

/** Region prefix of certificate numbers issued by the Liaoyuan centre: 吉 (Jilin province), 辽源市. */
export const CERTIFICATE_REGION = { province: '吉', city: '辽源市' } as const;

/** China keeps one offset all year (no daylight saving since 1991), so calendar days need no time-zone database. */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** The calendar date (YYYY-MM-DD) of an instant in Asia/Shanghai. */
export function shanghaiDate(iso: string): string {
  return new Date(Date.parse(iso) + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** 吉(2026)辽源市不动产权第0001234号: the year of issue and a 7-digit, zero-padded sequence number. */
export function formatCertificateNo(year: number, sequence: number): string {
  const { province, city } = CERTIFICATE_REGION;
  return `${province}(${year})${city}不动产权第${String(sequence).padStart(7, '0')}号`;
}

export const CERTIFICATE_NO_PATTERN = new RegExp(
  `^${CERTIFICATE_REGION.province}\\((\\d{4})\\)${CERTIFICATE_REGION.city}不动产权第(\\d{7,})号$`,
);

/** `workingMs`: the working time between the two on the policy's calendar, when the case counts on one. */
export function certificateTiming(acceptedAt: string, issuedAt: string, completionTargetMs: number, workingMs?: number): CertificateTiming {
  const timeToCertificateMs = Date.parse(issuedAt) - Date.parse(acceptedAt);
  return {
    timeToCertificateMs,
    completionTargetMs,
    withinCompletionTarget: (workingMs ?? timeToCertificateMs) <= completionTargetMs,
    sameDay: shanghaiDate(acceptedAt) === shanghaiDate(issuedAt),
  };
}
