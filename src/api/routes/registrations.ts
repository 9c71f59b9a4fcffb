import type { UpdateDefinition } from '@temporalio/common';
import type { ZodType } from 'zod';
import { getPartner } from '../../db/partners';
import { invalidLinkedInstitutions, registrationFromReadModel } from '../../db/registrations';
import { currentSlaPolicies } from '../../db/slaPolicies';
import {
  type Applicant, initialRegistrationState, openRegistrationDeadlines, type RegistrationIntake, type RegistrationState, type RegistrationWorkflowInput,
} from '../../domain/registration';
import { resolveRegistrationSla } from '../../domain/sla';
import * as m from '../../workflows/messages';
import { inCommunityScope, type Principal } from '../auth';
import { actorOf, caseIntake, continueAsNewAfter, startCase } from '../caseIntake';
import type { ApiDeps } from '../deps';
import { badRequest, forbidden, notFound } from '../problem';
import {
  AssignReviewerBody, CreateRegistration, MarkDelivered, RegistrationView, ReviewAnswer, ReviewParams, SupplementDocuments,
} from '../registrationSchemas';
import { actionOperationId, type ApiRoutes, type Reply, type RouteSpec } from '../routing';
import { Cancel, IdParam, Survey } from '../schemas';
import { AcknowledgeEscalationBody, clockView } from '../clockView';
import { withSlaClock } from '../slaClock';
import { queryState, runUpdate } from '../workflowCalls';

/** The case as docs/api.md shows it. */
export function registrationView(s: RegistrationState) {
  const reviews = Object.fromEntries(Object.entries(s.reviews).map(([department, r]) => [department, {
    status: r.status, partnerId: r.partnerId, ...(r.reason ? { reason: r.reason } : {}), requestedAt: r.requestedAt,
    dueAt: r.dueAt, overdue: r.overdue, answeredAt: r.answeredAt, ...(r.nextSearchAt ? { nextSearchAt: r.nextSearchAt } : {}),
  }]));
  return {
    id: s.id, status: s.status, businessType: s.businessType, applicants: s.applicants, property: s.property,
    community: s.community, delivery: s.delivery, linkedInstitutions: s.linkedInstitutions, documents: s.documents,
    missingDocuments: s.missingDocuments, reviews, certificateNo: s.certificateNo, timeToCertificateMs: s.timeToCertificateMs,
    completionTargetMs: s.completionTargetMs, withinCompletionTarget: s.withinCompletionTarget, sameDay: s.sameDay,
    overdue: s.overdue, deadlines: openRegistrationDeadlines(s), rejection: s.rejection, delivered: s.delivered,
    survey: s.survey, withdrawal: s.withdrawal, sla: s.sla, createdAt: s.createdAt, acceptedAt: s.acceptedAt,
    certificateIssuedAt: s.certificateIssuedAt, deliveredAt: s.delivered?.at ?? null, closedAt: s.closedAt, outcome: s.outcome,
    ...clockView(s), workingTimeToCertificateMs: s.workingTimeToCertificateMs ?? null,
  };
}

/**
 * What a partner may know of the applicants: a department needs their ID numbers and phones
 * while its review is pending; afterwards, and for a linked institution, their names suffice,
 * and none of the free text written about them (delivery note, withdrawal reason, survey comment).
 */
function registrationFor(p: Principal, s: RegistrationState): RegistrationState {
  if (p.role !== 'partner') return s;
  const reviewing = Object.values(s.reviews).some((r) => r.partnerId === p.partnerId && r.status === 'pending');
  if (reviewing) return s;
  return {
    ...s,
    applicants: s.applicants.map(({ name }) => ({ name })) as Applicant[],
    delivered: s.delivered ? { ...s.delivered, note: null } : null,
    withdrawal: s.withdrawal ? (({ reason: _reason, ...w }) => w)(s.withdrawal) as RegistrationState['withdrawal'] : null,
    survey: s.survey ? { ...s.survey, comment: null } : null,
  };
}

/** A partner sees a case it reviews, or is notified of as a linked institution. */
const involves = (s: RegistrationState, partnerId: string | null) =>
  partnerId !== null && (Object.values(s.reviews).some((r) => r.partnerId === partnerId) || s.linkedInstitutions.includes(partnerId));

export function registrationRoutes(routes: ApiRoutes, { pool, temporal, config }: ApiDeps): void {
  const taskQueue = config.TEMPORAL_TASK_QUEUE;

  async function currentState(caseId: string): Promise<RegistrationState | null> {
    return (await queryState(temporal, m.registrationWorkflowId(caseId), m.getRegistrationState))
      ?? registrationFromReadModel(pool, caseId);
  }

  /** Load the case and check the caller may see it (community scope; a partner only a case it is part of). */
  async function authorisedState(caseId: string, p: Principal): Promise<RegistrationState> {
    const state = await currentState(caseId);
    if (!state) throw notFound(`registration ${caseId}`);
    if (p.role === 'partner' && !involves(state, p.partnerId)) throw forbidden('this case was not sent to your organisation');
    if (!inCommunityScope(p, state.community)) throw forbidden('this case is outside the communities of your key');
    return state;
  }

  /**
   * Authorisation of an action from the read model (one primary-key read of `cases`: the
   * community, the reviewers, the linked institutions) instead of a workflow query, as the
   * actions on resident requests do (BENCHMARKS.md, lifecycle): the Update's validator then
   * checks the action against the live state (a reviewer the row still names but the case
   * no longer does gets its 403 there). A case not yet written, or a partner the row does not
   * name, asks the workflow as GET does.
   */
  async function authorisedForAction(caseId: string, p: Principal): Promise<RegistrationState> {
    const row = await registrationFromReadModel(pool, caseId);
    if (!row || (p.role === 'partner' && !involves(row, p.partnerId))) return authorisedState(caseId, p);
    if (!inCommunityScope(p, row.community)) throw forbidden('this case is outside the communities of your key');
    return row;
  }

  routes.add({
    method: 'post', path: '/v1/registrations', operationId: 'createRegistration', tag: 'registrations', roles: ['staff', 'supervisor'],
    summary: 'One-window intake (一窗受理) of a registration case; honours Idempotency-Key',
    body: CreateRegistration,
    responses: {
      201: { description: 'case opened: awaiting_documents (missingDocuments names all of them) or in_review', schema: RegistrationView },
      200: { description: 'the same Idempotency-Key and body: the case opened before', schema: RegistrationView },
      409: { description: 'the Idempotency-Key was used with another body' },
    },
    handler: async ({ body, principal, req, intakeMemo }) => {
      if (!inCommunityScope(principal, body.community)) {
        throw forbidden(body.community ? `your key may not open cases in community ${body.community}` : 'your key is limited to communities: name the community');
      }
      const linked = body.linkedInstitutions ?? [];
      const problems = await invalidLinkedInstitutions(pool, linked);
      if (problems.size > 0) {
        throw badRequest('linkedInstitutions must name active linked institutions',
          linked.flatMap((id, i) => (problems.has(id) ? [{ path: `body.linkedInstitutions.${i}`, message: problems.get(id)! }] : [])));
      }
      const intake = caseIntake('registration', principal, req.header('idempotency-key'), body);
      const { caseId } = intake;
      const openedAt = Date.now();
      const sla = await withSlaClock(pool, resolveRegistrationSla(await currentSlaPolicies(pool)), openedAt, false);
      const input: RegistrationWorkflowInput = {
        caseId, intake: body satisfies RegistrationIntake, sla,
        openedBy: actorOf(principal), openedAt: new Date(openedAt).toISOString(), ...continueAsNewAfter(config),
      };
      const initial = initialRegistrationState(input);
      const { repeat } = await startCase(temporal, 'registration', input, taskQueue, intake, intakeMemo);
      if (!repeat) return { status: 201, body: registrationView(initial), caseId, headers: { Location: `/v1/registrations/${caseId}` } };
      return { status: 200, body: registrationView((await currentState(caseId)) ?? initial), caseId };
    },
  });

  routes.add({
    method: 'get', path: '/v1/registrations/:id', operationId: 'getRegistration', tag: 'registrations', roles: ['admin', 'supervisor', 'staff', 'partner'], personalData: true,
    summary: 'A registration case, live: missing documents, the three reviews, certificate and the 20-minute measure',
    params: IdParam,
    responses: { 200: { description: 'the case', schema: RegistrationView }, 404: { description: 'unknown case' } },
    handler: async ({ params, principal }) => ({
      status: 200, body: registrationView(registrationFor(principal, await authorisedState(params.id, principal))),
    }),
  });

  const update = <A>(caseId: string, def: UpdateDefinition<RegistrationState, [A]>, arg: A) =>
    runUpdate(temporal, m.registrationWorkflowId(caseId), def, arg, `registration ${caseId}`,
      async () => (await registrationFromReadModel(pool, caseId))?.status ?? null);

  /**
   * One action = one Temporal update; the answer is the case's new state. `seen` is the case as
   * the read model has it, or with `live` as the workflow has it (an action that decides from it).
   */
  function action<B, P extends { id: string }>(
    path: string, roles: RouteSpec['roles'], summary: string, params: ZodType<P>, schema: ZodType<B>,
    perform: (params: P, body: B, p: Principal, seen: RegistrationState) => Promise<RegistrationState>,
    operationId?: string, live = false,
  ): void {
    routes.add({
      method: 'post', path: `/v1/registrations/:id/${path}`, operationId: operationId ?? actionOperationId('registration', path), tag: 'registrations', roles, summary, params, body: schema,
      responses: {
        200: { description: 'the case after the action', schema: RegistrationView },
        404: { description: 'unknown case' },
        409: { description: 'the case is in a state that forbids the action (the body names it)' },
      },
      handler: async ({ params: p, body, principal }): Promise<Reply> => {
        const seen = await (live ? authorisedState : authorisedForAction)(p.id, principal);
        const state = await perform(p, body, principal, seen);
        return { status: 200, body: registrationView(registrationFor(principal, state)), caseId: p.id };
      },
    });
  }

  const staff = ['staff', 'supervisor'] as const;
  action('documents', staff, 'Supplement documents; complete ones start the three reviews', IdParam, SupplementDocuments,
    ({ id }, b, p) => update(id, m.supplementDocuments, { documents: b.documents, actor: actorOf(p) }));
  action('reviews/:department', ['partner'], 'A department answers its review (only the partner it was sent to); a rejection ends the case',
    ReviewParams, ReviewAnswer,
    ({ id, department }, b, p) => update(id, m.recordReview, {
      department, partnerId: p.partnerId!, approved: b.approved, reason: b.reason ?? null, actor: actorOf(p),
    }));
  action('reviews/:department/assign', ['supervisor'],
    'Send a pending review to another active partner of the department; the old reviewer is told its request is withdrawn',
    ReviewParams, AssignReviewerBody, async ({ id, department }, b, p, seen) => {
      const partner = await getPartner(pool, b.partnerId);
      const problem = !partner ? `partner ${b.partnerId} does not exist`
        : partner.kind !== 'department' || partner.department !== department ? `partner ${b.partnerId} is not a ${department} department partner`
          : !partner.active ? `partner ${b.partnerId} is not active` : null;
      if (problem) throw badRequest(`partnerId must name an active ${department} department partner`, [{ path: 'body.partnerId', message: problem }]);
      // A repeated assignment (a retried call) costs no Update: the case already says so.
      const review = seen.reviews[department];
      if (seen.status === 'in_review' && review?.status === 'pending' && review.partnerId === b.partnerId) return seen;
      return update(id, m.assignReviewer, { department, partnerId: b.partnerId, partnerName: partner!.name, actor: actorOf(p) });
    }, 'assignRegistrationReviewer', true);
  action('delivered', staff, 'The certificate reached the applicant (window, post or home visit)',
    IdParam, MarkDelivered, ({ id }, b, p) => update(id, m.markDelivered, { note: b.note ?? null, actor: actorOf(p) }));
  action('survey', staff, 'Record the satisfaction survey (1-5); closes the case', IdParam, Survey,
    ({ id }, b, p) => update(id, m.recordRegistrationSurvey, { score: b.score, comment: b.comment ?? null, actor: actorOf(p) }));
  action('cancel', staff, 'Withdraw the case with a reason (before the certificate is issued)', IdParam, Cancel,
    ({ id }, b, p) => update(id, m.cancelRegistration, { reason: b.reason, actor: actorOf(p) }));
  action('escalation/acknowledge', staff, 'Take the escalation on (逐级督办): it stops climbing', IdParam, AcknowledgeEscalationBody,
    ({ id }, b, p) => update(id, m.acknowledgeRegistrationEscalation, { note: b.note, actor: actorOf(p) }));
}
