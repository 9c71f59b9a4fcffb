import { getPartner } from '../../db/partners';
import { serviceRequestAccessRow, serviceRequestFromReadModel } from '../../db/serviceRequests';
import { currentSlaPolicies } from '../../db/slaPolicies';
import { parseIsoDuration } from '../../domain/duration';
import { resolveServiceRequestSla } from '../../domain/sla';
import {
  initialServiceRequestState, type ServiceRequestIntake, type ServiceRequestState, type ServiceRequestWorkflowInput,
} from '../../domain/serviceRequest';
import * as m from '../../workflows/messages';
import { inCommunityScope, type Principal } from '../auth';
import { actorOf, caseIntake, continueAsNewAfter, startCase } from '../caseIntake';
import type { ApiDeps } from '../deps';
import { serviceOrderLinkFor } from '../orderLinkIssue';
import { serviceRequestFor } from '../residentPrivacy';
import { AcknowledgeEscalationBody, clockView, Hold, holdView } from '../clockView';
import { withSlaClock } from '../slaClock';
import { badRequest, forbidden, notFound } from '../problem';
import { actionOperationId, type ApiRoutes, type Reply } from '../routing';
import {
  Assign, Cancel, Complete, CreateServiceRequest, Decline, EmptyBody, Extension, ExtensionDecision, FollowUp, IdParam,
  Progress, ServiceRequestView, Survey,
} from '../schemas';
import { queryState, runUpdate } from '../workflowCalls';

/** The case as docs/api.md shows it; a partner sees it only while the order is its own. */
export function serviceRequestView(s: ServiceRequestState) {
  const deadlines = Object.fromEntries(Object.entries(s.deadlines).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  return {
    id: s.id, status: s.status, category: s.category, urgency: s.urgency, channel: s.channel, description: s.description,
    assignedPartnerId: s.assignedPartnerId, currentOrderId: s.currentOrderId, dispatchAttempts: s.dispatchAttempts,
    overdue: s.overdue, reopenCount: s.reopenCount, deadlines, resident: s.resident, extension: s.extension,
    completion: s.completion, survey: s.survey, sla: s.sla, createdAt: s.createdAt, acknowledgedAt: s.acknowledgedAt,
    completedAt: s.completedAt, closedAt: s.closedAt, outcome: s.outcome, ...clockView(s), ...holdView(s),
  };
}

type AccessRow = NonNullable<Awaited<ReturnType<typeof serviceRequestAccessRow>>>;

export function serviceRequestRoutes(routes: ApiRoutes, { pool, temporal, config }: ApiDeps): void {
  const taskQueue = config.TEMPORAL_TASK_QUEUE;

  async function currentState(caseId: string): Promise<ServiceRequestState | null> {
    return (await queryState(temporal, m.serviceRequestWorkflowId(caseId), m.getServiceRequestState))
      ?? serviceRequestFromReadModel(pool, caseId);
  }

  /** Load the case and check the caller may see it (community scope; a partner only its own order). */
  async function authorisedState(caseId: string, p: Principal): Promise<ServiceRequestState> {
    const state = await currentState(caseId);
    if (!state) throw notFound(`service request ${caseId}`);
    if (p.role === 'partner' && state.assignedPartnerId !== p.partnerId) throw forbidden('this case is not an order of your organisation');
    if (!inCommunityScope(p, state.resident?.community)) throw forbidden('this case is outside the communities of your key');
    return state;
  }

  /**
   * The same check before an action, from the read model when it can answer (a primary-key
   * read instead of a workflow query: a query costs the Temporal server and the worker a
   * round trip each, see BENCHMARKS.md). A case's community never changes, and a partner
   * named on the row got the order (the dispatch is written before the webhook goes out);
   * the update's validator checks the order again against the live state. A case not yet
   * written, or another partner on the row, asks the workflow as GET does.
   */
  async function authoriseAction(caseId: string, p: Principal): Promise<AccessRow | null> {
    const row = await serviceRequestAccessRow(pool, caseId);
    if (!row || (p.role === 'partner' && row.partnerId !== p.partnerId)) {
      await authorisedState(caseId, p);
      return null;
    }
    if (!inCommunityScope(p, row.community)) throw forbidden('this case is outside the communities of your key');
    return row;
  }

  /**
   * A repeated accept (a partner retrying its call) costs no Update: every Update is an
   * event in the case's history, which has per-run limits, and a client can repeat forever.
   * When the row says the partner's order is in progress, the live state confirms it (a
   * query adds nothing to the history) and answers; else the Update runs and decides.
   */
  async function acceptOrder(caseId: string, p: Principal, row: AccessRow | null): Promise<ServiceRequestState> {
    if (row?.status === 'in_progress' && row.partnerId === p.partnerId) {
      const live = await queryState(temporal, m.serviceRequestWorkflowId(caseId), m.getServiceRequestState);
      if (live?.status === 'in_progress' && live.assignedPartnerId === p.partnerId) return live;
    }
    return update(caseId, m.acceptOrder, partnerOf(p));
  }

  routes.add({
    method: 'post', path: '/v1/service-requests', operationId: 'createServiceRequest', tag: 'service requests', roles: ['staff', 'supervisor'],
    summary: 'Record a resident request (民生诉求) and start dispatching it; honours Idempotency-Key',
    body: CreateServiceRequest,
    responses: {
      201: { description: 'case opened', schema: ServiceRequestView },
      200: { description: 'the same Idempotency-Key and body: the case opened before', schema: ServiceRequestView },
      409: { description: 'the Idempotency-Key was used with another body' },
    },
    handler: async ({ body, principal, req, intakeMemo }) => {
      if (!inCommunityScope(principal, body.resident.community)) {
        throw forbidden(`your key may not open cases in community ${body.resident.community}`);
      }
      const intake = caseIntake('service_request', principal, req.header('idempotency-key'), body);
      const { caseId } = intake;
      const openedAt = Date.now();
      const sla = resolveServiceRequestSla(await currentSlaPolicies(pool), body.category, body.urgency);
      const input: ServiceRequestWorkflowInput = {
        caseId, intake: body satisfies ServiceRequestIntake, sla: await withSlaClock(pool, sla, openedAt, true),
        openedBy: actorOf(principal), openedAt: new Date(openedAt).toISOString(), ...continueAsNewAfter(config),
      };
      const { repeat } = await startCase(temporal, 'service_request', input, taskQueue, intake, intakeMemo);
      const initial = initialServiceRequestState(input);
      if (!repeat) return { status: 201, body: serviceRequestView(initial), caseId, headers: { Location: `/v1/service-requests/${caseId}` } };
      const state = (await currentState(caseId)) ?? initial;
      return { status: 200, body: serviceRequestView(state), caseId };
    },
  });

  routes.add({
    method: 'get', path: '/v1/service-requests/:id', operationId: 'getServiceRequest', tag: 'service requests', roles: ['admin', 'supervisor', 'staff', 'partner'], personalData: true,
    summary: 'A resident request, live',
    params: IdParam,
    responses: { 200: { description: 'the case', schema: ServiceRequestView }, 404: { description: 'unknown case' } },
    handler: async ({ params, principal, req }) => {
      const state = await authorisedState(params.id, principal);
      return { status: 200, body: { ...serviceRequestView(serviceRequestFor(principal, state)), ...(await serviceOrderLinkFor(pool, config, req, principal, state)) } };
    },
  });

  /** One action = one Temporal update; the answer is the case's new state. */
  function action<B>(
    name: string, roles: ApiRoutes['routes'][number]['roles'], summary: string, schema: import('zod').ZodType<B>,
    perform: (caseId: string, body: B, p: Principal, row: AccessRow | null) => Promise<ServiceRequestState>,
  ): void {
    routes.add({
      method: 'post', path: `/v1/service-requests/:id/${name}`, operationId: actionOperationId('serviceRequest', name), tag: 'service requests', roles, summary,
      params: IdParam, body: schema,
      responses: {
        200: { description: 'the case after the action', schema: ServiceRequestView },
        404: { description: 'unknown case' },
        409: { description: 'the case is in a state that forbids the action (the body names it)' },
      },
      handler: async ({ params, body, principal }): Promise<Reply> => {
        const row = await authoriseAction(params.id, principal);
        const state = await perform(params.id, body, principal, row);
        return { status: 200, body: serviceRequestView(serviceRequestFor(principal, state)), caseId: params.id };
      },
    });
  }

  const update = <A>(caseId: string, def: import('@temporalio/common').UpdateDefinition<ServiceRequestState, [A]>, arg: A) =>
    runUpdate(temporal, m.serviceRequestWorkflowId(caseId), def, arg, `service request ${caseId}`,
      async () => (await serviceRequestFromReadModel(pool, caseId))?.status ?? null);

  const partnerOf = (p: Principal) => ({ partnerId: p.partnerId!, actor: actorOf(p) });

  action('accept', ['partner'], 'Accept the order (partner)', EmptyBody.optional(),
    (id, _b, p, row) => acceptOrder(id, p, row));
  action('decline', ['partner'], 'Decline the order; it moves to the next partner at once', Decline,
    (id, b, p) => update(id, m.declineOrder, { ...partnerOf(p), reason: b.reason }));
  action('progress', ['partner'], 'Report progress', Progress,
    (id, b, p) => update(id, m.reportProgress, { ...partnerOf(p), note: b.note }));
  action('complete', ['partner'], 'Report completion (what was done, hours spent)', Complete,
    (id, b, p) => update(id, m.completeOrder, { ...partnerOf(p), note: b.note, hoursSpent: b.hoursSpent ?? null }));
  action('extension', ['partner'], 'Ask for more time to fulfil the order', Extension,
    (id, b, p) => update(id, m.requestExtension, { ...partnerOf(p), extraTime: b.extraTime, extraTimeMs: parseIsoDuration(b.extraTime)!, reason: b.reason }));
  action('assign', ['supervisor'], 'Assign a partner by hand (also out of escalated); withdraws the current order', Assign,
    async (id, b, p) => {
      const partner = await getPartner(pool, b.partnerId);
      if (!partner) throw badRequest('unknown partner', [{ path: 'body.partnerId', message: `partner ${b.partnerId} does not exist` }]);
      if (!partner.active) throw badRequest('inactive partner', [{ path: 'body.partnerId', message: `partner ${b.partnerId} is not active` }]);
      return update(id, m.assignPartner, { partnerId: b.partnerId, actor: actorOf(p) });
    });
  action('extension-decision', ['supervisor'], 'Grant or refuse a pending extension', ExtensionDecision,
    (id, b, p) => update(id, m.decideExtension, { approve: b.approve, actor: actorOf(p) }));
  action('follow-up', ['staff', 'supervisor'], 'Record the follow-up visit (回访); resolved=false reopens the case', FollowUp,
    (id, b, p) => update(id, m.recordFollowUp, { resolved: b.resolved, note: b.note, actor: actorOf(p) }));
  action('survey', ['staff', 'supervisor'], 'Record the satisfaction survey (1-5); closes the case', Survey,
    (id, b, p) => update(id, m.recordSurvey, { score: b.score, comment: b.comment ?? null, actor: actorOf(p) }));
  action('cancel', ['staff', 'supervisor'], 'Cancel the case with a reason; withdraws any active order', Cancel,
    (id, b, p) => update(id, m.cancelServiceRequest, { reason: b.reason, actor: actorOf(p) }));

  // Holds and the escalation chain (docs/sla-clocks.md).
  const holder = (p: Principal) => ({ actor: actorOf(p), partnerId: p.role === 'partner' ? p.partnerId : null });
  action('hold', ['partner', 'staff', 'supervisor'], 'Stop the fulfilment clock while waiting on the resident (the order\'s partner or staff)', Hold,
    (id, b, p) => update(id, m.holdOrder, { ...holder(p), reason: b.reason, note: b.note ?? null }));
  action('resume', ['partner', 'staff', 'supervisor'], 'End the hold: the fulfilment deadline moves by the working time held', EmptyBody.optional(),
    (id, _b, p) => update(id, m.resumeOrder, holder(p)));
  action('escalation/acknowledge', ['staff', 'supervisor'], 'Take the escalation on (逐级督办): it stops climbing', AcknowledgeEscalationBody,
    (id, b, p) => update(id, m.acknowledgeEscalation, { note: b.note, actor: actorOf(p) }));
}
