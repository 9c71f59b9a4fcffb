/** Request and response schemas of registration cases (docs/api.md, "Registration cases"). */
import {
  BUSINESS_TYPES, DELIVERY_METHODS, DOCUMENT_CODES, DOCUMENTS, REGISTRATION_STATUSES,
} from '../domain/registration';
import { SERVICE_REQUEST_OUTCOMES } from '../domain/serviceRequest';
import { DEPARTMENTS } from '../domain/vocabulary';
import { clockViewFields } from './clockView';
import { ResidentSchema } from './schemas';
import { z } from './zod';

// The length limit holds for the text as sent (as the OpenAPI maxLength says); blank after trimming is empty.
const text = (max: number) => z.string().max(max).trim().min(1);
const id = z.string().min(1).max(100);

const DocumentCode = z.enum(DOCUMENT_CODES).openapi({
  description: `Document codes: ${Object.entries(DOCUMENTS).map(([code, name]) => `${code} (${name})`).join(', ')}`,
});
const documentList = z.array(DocumentCode).max(DOCUMENT_CODES.length * 2);

export const ApplicantSchema = z.object({
  name: ResidentSchema.shape.name,
  idNumber: z.string()
    .regex(/^\d{17}[\dXx]$/, 'must be an 18-character resident ID number: 17 digits, then a digit or X').toUpperCase(),
  phone: ResidentSchema.shape.phone,
}).strict().openapi('Applicant');

export const PropertySchema = z.object({
  address: text(500),
  unitNo: text(100).optional(),
  certificateNo: text(100).optional().openapi({ description: 'The existing certificate, for business on a registered property' }),
}).strict().openapi('Property');

export const CreateRegistration = z.object({
  applicants: z.array(ApplicantSchema).min(1).max(20),
  property: PropertySchema,
  businessType: z.enum(BUSINESS_TYPES),
  documents: documentList.openapi({ description: 'Documents handed in at the window; the missing ones are told all at once' }),
  delivery: z.enum(DELIVERY_METHODS),
  linkedInstitutions: z.array(id).max(20).optional()
    .refine((ids) => !ids || new Set(ids).size === ids.length, 'name each institution once')
    .openapi({ description: 'Partner ids of linked institutions (kind linked_institution) to notify, e.g. the mortgage bank' }),
  community: text(200).optional().openapi({ description: "The applicant's community: puts the case in that community's scope" }),
}).strict().openapi('CreateRegistration');

export const SupplementDocuments = z.object({ documents: documentList.min(1) }).strict().openapi('SupplementDocuments');
export const MarkDelivered = z.object({ note: text(2000).optional() }).strict().openapi('MarkDelivered');

export const ReviewAnswer = z.object({ approved: z.boolean(), reason: text(2000).optional() }).strict()
  .refine((v) => v.approved || v.reason !== undefined, { path: ['reason'], message: 'a rejection needs the reason the applicant will be told' })
  .openapi('ReviewAnswer');

export const ReviewParams = z.object({ id, department: z.enum(DEPARTMENTS) }).strict();
export const AssignReviewerBody = z.object({
  partnerId: id.openapi({ description: 'An active partner of kind department, of the department in the path' }),
}).strict().openapi('AssignReviewer');

const ReviewView = z.object({
  status: z.enum(['pending', 'approved', 'rejected', 'withdrawn']),
  partnerId: z.string().nullable(),
  reason: z.string().optional(),
  requestedAt: z.string(),
  dueAt: z.string(),
  overdue: z.boolean(),
  answeredAt: z.string().nullable(),
  nextSearchAt: z.string().optional().openapi({ description: 'No partner of the department could take the review: when it is looked for again' }),
}).openapi('DepartmentReview');

export const RegistrationView = z.object({
  id: z.string(),
  status: z.enum(REGISTRATION_STATUSES),
  businessType: z.enum(BUSINESS_TYPES),
  applicants: z.array(ApplicantSchema.partial()).openapi({ description: 'A partner past its review (or a linked institution) sees names only' }),
  property: PropertySchema,
  community: z.string().nullable(),
  delivery: z.enum(DELIVERY_METHODS),
  linkedInstitutions: z.array(z.string()),
  documents: z.array(DocumentCode),
  missingDocuments: z.array(DocumentCode),
  reviews: z.object({ tax: ReviewView, housing: ReviewView, natural_resources: ReviewView }).partial(),
  certificateNo: z.string().nullable().openapi({ example: '吉(2026)辽源市不动产权第0001234号' }),
  timeToCertificateMs: z.number().nullable().openapi({ description: 'From acceptance (documents complete) to certificate' }),
  completionTargetMs: z.number(),
  withinCompletionTarget: z.boolean().nullable(),
  sameDay: z.boolean().nullable().openapi({ description: 'Certificate issued on the calendar day of acceptance (Asia/Shanghai)' }),
  overdue: z.boolean(),
  deadlines: z.record(z.string(), z.string()).openapi({ description: 'Open deadlines: supplement, review (earliest pending), survey' }),
  rejection: z.object({ department: z.enum(DEPARTMENTS), partnerId: z.string(), reason: z.string(), at: z.string() }).nullable(),
  delivered: z.object({ method: z.enum(DELIVERY_METHODS), note: z.string().nullable(), by: z.string(), at: z.string() }).nullable(),
  survey: z.object({ score: z.number().int(), comment: z.string().nullable(), at: z.string() }).nullable(),
  withdrawal: z.object({ reason: z.string().optional().openapi({ description: 'absent for a partner no longer reviewing the case' }), by: z.string() }).nullable(),
  sla: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  acceptedAt: z.string().nullable(),
  certificateIssuedAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  outcome: z.enum(SERVICE_REQUEST_OUTCOMES).nullable(),
  ...clockViewFields,
  workingTimeToCertificateMs: z.number().nullable().openapi({ description: 'acceptance to certificate in working time on the policy\'s calendar (what the completion target is judged on)' }),
}).openapi('Registration');
