import type { Pool } from 'pg';
import { getPartner } from '../../db/partners';
import { currentSlaPolicies } from '../../db/slaPolicies';
import { parseIsoDuration } from '../../domain/duration';
import { resolveServiceRequestSla } from '../../domain/sla';
import type { ServiceRequestIntake, ServiceRequestState, ServiceRequestWorkflowInput } from '../../domain/serviceRequest';
import { SA } from '../../domain/searchAttributes';
import * as m from '../../workflows/messages';
import { inCommunityScope, type Principal } from '../auth';
import { actorOf, caseIntake, startCase } from '../caseIntake';
import type { ApiDeps } from '../deps';
import { serviceOrderLinkFor } from '../orderLinkIssue';
import { serviceRequestFor } from '../residentPrivacy';
import { badRequest, forbidden, notFound } from '../problem';
import type { ApiRoutes, Reply } from '../routing';
import {
  Assign, Cancel, Complete, CreateServiceRequest, Decline, EmptyBody, Extension, ExtensionDecision, FollowUp, IdParam,
  Progress, ServiceRequestView, Survey,
} from '../schemas';
import { queryState, runUpdate } from '../workflowCalls';

/** The case as API.md shows it; a partner sees it only while the order is its own. */
export function serviceRequestView(s: ServiceRequestState) {
  const deadlines = Object.fromEntries(Object.entries(s.deadlines).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  return {
    id: s.id, status: s.status, category: s.category, urgency: s.urgency, channel: s.channel, description: s.description,
    assignedPartnerId: s.assignedPartnerId, currentOrderId: s.currentOrderId, dispatchAttempts: s.dispatchAttempts,
    overdue: s.overdue, reopenCount: s.reopenCount, deadlines, resident: s.resident, extension: s.extension,
    completion: s.completion, survey: s.survey, sla: s.sla, createdAt: s.createdAt, acknowledgedAt: s.acknowledgedAt,
    completedAt: s.completedAt, closedAt: s.closedAt, outcome: s.outcome,
  };
}

/** The state before the workflow has run: what POST answers without waiting for a worker. */
function initialState(input: ServiceRequestWorkflowInput): ServiceRequestState {
  const { intake } = input;
  return {
    id: input.caseId, caseType: 'service_request', status: 'dispatching', category: intake.category, urgency: intake.urgency,
    channel: intake.channel, description: intake.description, resident: intake.resident, assignedPartnerId: null,
    currentOrderId: null, dispatchAttempts: 0, overdue: false, reopenCount: 0, deadlines: {}, extension: null,
    completion: null, survey: null, sla: input.sla.source, createdAt: input.openedAt, acknowledgedAt: null,
    completedAt: null, closedAt: null, outcome: null, cancellation: null,
  };
}

/** Rebuild the state from the read model when the workflow cannot be queried (closed long ago, or workers down). */
async function stateFromReadModel(pool: Pool, caseId: string): Promise<ServiceRequestState | null> {
  const { rows } = await pool.query(
    `SELECT * FROM cases WHERE id = $1 AND type = 'service_request'`, [caseId]);
  const r = rows[0];
  if (!r) return null;
  const d = r.details ?? {};
  const iso = (v: Date | null) => (v ? v.toISOString() : null);
  const dl = r.deadlines ?? {};
  return {
    id: r.id, caseType: 'service_request', status: r.status, category: r.category, urgency: r.urgency,
    channel: d.channel, description: d.description, resident: d.resident, assignedPartnerId: r.partner_id,
    currentOrderId: null, dispatchAttempts: r.dispatch_attempts, overdue: r.overdue, reopenCount: r.reopen_count,
    deadlines: { ack: dl.ack, fulfilment: dl.fulfilment, followUp: dl.follow_up, survey: dl.survey },
    extension: d.extension ?? null, completion: d.completion ?? null,
    survey: r.satisfaction != null ? { score: r.satisfaction, comment: null, at: iso(r.closed_at)! } : null,
    sla: d.sla ?? {}, createdAt: r.created_at.toISOString(), acknowledgedAt: iso(r.acknowledged_at),
    completedAt: iso(r.completed_at), closedAt: iso(r.closed_at), outcome: r.outcome, cancellation: d.cancellation ?? null,
  };
}

export function serviceRequestRoutes(routes: ApiRoutes, { pool, temporal, config }: ApiDeps): void {
  const taskQueue = config.TEMPORAL_TASK_QUEUE;

  async function currentState(caseId: string): Promise<ServiceRequestState | null> {
    return (await queryState(temporal, m.serviceRequestWorkflowId(caseId), m.getServiceRequestState))
      ?? stateFromReadModel(pool, caseId);
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
  async function authoriseAction(caseId: string, p: Principal): Promise<void> {
    const { rows } = await pool.query<{ community: string; partner_id: string | null }>(
      `SELECT community, partner_id FROM cases WHERE id = $1 AND type = 'service_request'`, [caseId]);
    const row = rows[0];
    if (!row || (p.role === 'partner' && row.partner_id !== p.partnerId)) {
      await authorisedState(caseId, p);
      return;
    }
    if (!inCommunityScope(p, row.community)) throw forbidden('this case is outside the communities of your key');
  }

  routes.add({
    method: 'post', path: '/v1/service-requests', tag: 'service requests', roles: ['staff', 'supervisor'],
    summary: 'Record a resident request (民生诉求) and start dispatching it; honours Idempotency-Key',
    body: CreateServiceRequest,
    responses: {
      201: { description: 'case opened', schema: ServiceRequestView },
      200: { description: 'the same Idempotency-Key and body: the case opened before', schema: ServiceRequestView },
      409: { description: 'the Idempotency-Key was used with another body' },
    },
    handler: async ({ body, principal, req }) => {
      if (!inCommunityScope(principal, body.resident.community)) {
        throw forbidden(`your key may not open cases in community ${body.resident.community}`);
      }
      const intake = caseIntake('service_request', principal, req.header('idempotency-key'), body);
      const { caseId } = intake;
      const input: ServiceRequestWorkflowInput = {
        caseId, intake: body satisfies ServiceRequestIntake,
        sla: resolveServiceRequestSla(await currentSlaPolicies(pool), body.category, body.urgency),
        openedBy: actorOf(principal), openedAt: new Date().toISOString(),
      };
      const workflowId = m.serviceRequestWorkflowId(caseId);
      const { repeat } = await startCase(temporal, workflowId, intake, (options) =>
        temporal.workflow.start<(i: ServiceRequestWorkflowInput) => Promise<ServiceRequestState>>('serviceRequest', {
          workflowId, taskQueue, args: [input], ...options,
          typedSearchAttributes: [
            { key: SA.caseType, value: 'service_request' },
            { key: SA.caseStatus, value: 'dispatching' },
            { key: SA.category, value: body.category },
            { key: SA.community, value: body.resident.community },
          ],
        }));
      if (!repeat) return { status: 201, body: serviceRequestView(initialState(input)), caseId, headers: { Location: `/v1/service-requests/${caseId}` } };
      const state = (await currentState(caseId)) ?? initialState(input);
      return { status: 200, body: serviceRequestView(state), caseId };
    },
  });

  routes.add({
    method: 'get', path: '/v1/service-requests/:id', tag: 'service requests', roles: ['admin', 'supervisor', 'staff', 'partner'],
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
    perform: (caseId: string, body: B, p: Principal) => Promise<ServiceRequestState>,
  ): void {
    routes.add({
      method: 'post', path: `/v1/service-requests/:id/${name}`, tag: 'service requests', roles, summary,
      params: IdParam, body: schema,
      responses: {
        200: { description: 'the case after the action', schema: ServiceRequestView },
        404: { description: 'unknown case' },
        409: { description: 'the case is in a state that forbids the action (the body names it)' },
      },
      handler: async ({ params, body, principal }): Promise<Reply> => {
        await authoriseAction(params.id, principal);
        const state = await perform(params.id, body, principal);
        return { status: 200, body: serviceRequestView(serviceRequestFor(principal, state)), caseId: params.id };
      },
    });
  }

  const update = <A>(caseId: string, def: import('@temporalio/common').UpdateDefinition<ServiceRequestState, [A]>, arg: A) =>
    runUpdate(temporal, m.serviceRequestWorkflowId(caseId), def, arg, `service request ${caseId}`,
      async () => (await stateFromReadModel(pool, caseId))?.status ?? null);

  const partnerOf = (p: Principal) => ({ partnerId: p.partnerId!, actor: actorOf(p) });

  action('accept', ['partner'], 'Accept the order (partner)', EmptyBody.optional(),
    (id, _b, p) => update(id, m.acceptOrder, partnerOf(p)));
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
}
