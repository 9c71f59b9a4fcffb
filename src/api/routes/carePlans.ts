/** 一人一策: care plans, their visits (check-in/out by the partner), and staff actions (docs/care-plans.md). */
import type { UpdateDefinition } from '@temporalio/common';
import type { Pool } from 'pg';
import type { ZodType } from 'zod';
import { caseStatuses, getCareVisit } from '../../db/carePlans';
import { getPartner } from '../../db/partners';
import { currentSlaPolicies } from '../../db/slaPolicies';
import { type CarePlanState, type CarePlanWorkflowInput, initialCarePlanState, SETTLED_VISIT_STATUSES } from '../../domain/carePlan';
import { caseWorkflowId } from '../../domain/caseTypes';
import { resolveCarePlanSla } from '../../domain/sla';
import * as cp from '../../workflows/carePlanMessages';
import { inCommunityScope, type Principal } from '../auth';
import { actorOf, caseIntake, continueAsNewAfter, startCase } from '../caseIntake';
import {
  ChangeCarePlan, CheckIn, CheckOut, checkSchedule, CarePlanView, CreateCarePlan, CreatedCarePlan, Note, PlanParams, Reason,
  VisitParams,
} from '../carePlanSchemas';
import type { ApiDeps } from '../deps';
import { badRequest, conflict, forbidden, notFound } from '../problem';
import { withoutContactDetails } from '../residentPrivacy';
import { withSlaClock } from '../slaClock';
import type { ApiRoutes, Reply, RouteSpec } from '../routing';
import { EmptyBody } from '../schemas';
import { queryState, runUpdate } from '../workflowCalls';
import { carePlanReadRoutes } from './carePlanViews';

const STAFF = ['staff', 'supervisor'] as const;

/** The plan as a caller may see it: installations with their service request's status; a partner no contact details once it is not the plan's partner. */
export async function carePlanView(pool: Pool, s: CarePlanState, p?: Principal) {
  const ids = s.installations.map((i) => i.serviceRequestId).filter((id): id is string => !!id);
  const statuses = await caseStatuses(pool, ids);
  const ownPartner = p?.role !== 'partner' || (s.partnerId === p.partnerId && (s.status === 'active' || s.status === 'paused'));
  return {
    ...s,
    resident: ownPartner ? s.resident : withoutContactDetails(s.resident),
    installations: s.installations.map((i) => ({ ...i, status: (i.serviceRequestId && statuses.get(i.serviceRequestId)) || i.status })),
  };
}

export async function carePlanFromReadModel(pool: Pool, caseId: string): Promise<CarePlanState | null> {
  const { rows } = await pool.query<{ details: CarePlanState }>(`SELECT details FROM cases WHERE id = $1 AND type = 'care_plan'`, [caseId]);
  return rows[0]?.details ?? null;
}

/** Partner and active: else a 400 naming the field. */
async function requireActivePartner(pool: Pool, partnerId: string, path: string): Promise<void> {
  const partner = await getPartner(pool, partnerId);
  if (!partner) throw badRequest('unknown partner', [{ path, message: `partner ${partnerId} does not exist` }]);
  if (!partner.active) throw badRequest('inactive partner', [{ path, message: `partner ${partnerId} is not active` }]);
}

export function carePlanRoutes(routes: ApiRoutes, deps: ApiDeps): void {
  const { pool, temporal, config } = deps;
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  const workflowId = (id: string) => caseWorkflowId('care_plan', id);

  async function currentState(caseId: string): Promise<CarePlanState | null> {
    return (await queryState(temporal, workflowId(caseId), cp.getCarePlanState)) ?? carePlanFromReadModel(pool, caseId);
  }

  /** Load the plan and check the caller may see it: community scope; a partner only a plan it serves or served. */
  async function authorisedState(caseId: string, p: Principal): Promise<CarePlanState> {
    const state = await currentState(caseId);
    if (!state) throw notFound(`care plan ${caseId}`);
    if (p.role === 'partner' && state.partnerId !== p.partnerId && !state.openVisits.some((v) => v.partnerId === p.partnerId)) {
      throw forbidden('this care plan is not served by your organisation');
    }
    if (!inCommunityScope(p, state.resident.community)) throw forbidden('this care plan is outside the communities of your key');
    return state;
  }

  routes.add({
    method: 'post', path: '/v1/care-plans', tag: 'care plans', roles: STAFF, operationId: 'createCarePlan',
    summary: 'Open a care plan (一人一策): weekly visits by one partner, installations as linked service requests; honours Idempotency-Key',
    body: CreateCarePlan,
    responses: {
      201: { description: 'plan opened (active)', schema: CreatedCarePlan },
      200: { description: 'the same Idempotency-Key and body: the plan opened before', schema: CreatedCarePlan },
      409: { description: 'the Idempotency-Key was used with another body' },
    },
    handler: async ({ body, principal, req, intakeMemo }) => {
      if (!inCommunityScope(principal, body.resident.community)) throw forbidden(`your key may not open cases in community ${body.resident.community}`);
      await requireActivePartner(pool, body.partnerId, 'body.partnerId');
      const intake = caseIntake('care_plan', principal, req.header('idempotency-key'), body);
      const { caseId } = intake;
      const openedAt = Date.now();
      // The care-plan policy's calendar and escalation steps, snapshotted for the plan's whole life (docs/care-plans.md).
      const sla = await withSlaClock(pool, resolveCarePlanSla(await currentSlaPolicies(pool)), openedAt, false);
      const input: CarePlanWorkflowInput = {
        caseId, intake: body, openedBy: actorOf(principal), openedAt: new Date(openedAt).toISOString(), sla, ...continueAsNewAfter(config),
      };
      const initial = initialCarePlanState(input);
      const { repeat } = await startCase(temporal, 'care_plan', input, taskQueue, intake, intakeMemo);
      if (!repeat) return { status: 201, body: await carePlanView(pool, initial), caseId, headers: { Location: `/v1/care-plans/${caseId}` } };
      return { status: 200, body: await carePlanView(pool, (await currentState(caseId)) ?? initial), caseId };
    },
  });

  routes.add({
    method: 'get', path: '/v1/care-plans/:id', tag: 'care plans', roles: ['admin', 'supervisor', 'staff', 'partner'], operationId: 'getCarePlan', personalData: true,
    summary: 'A care plan, live: next visit, visit counts, hours, installations, escalation',
    params: PlanParams,
    responses: { 200: { description: 'the plan', schema: CarePlanView }, 404: { description: 'unknown plan' } },
    handler: async ({ params, principal }) => ({ status: 200, body: await carePlanView(pool, await authorisedState(params.id, principal), principal) }),
  });

  const update = <A>(caseId: string, def: UpdateDefinition<CarePlanState, [A]>, arg: A) =>
    runUpdate(temporal, workflowId(caseId), def, arg, `care plan ${caseId}`, async () => (await carePlanFromReadModel(pool, caseId))?.status ?? null);

  /** One action = one Temporal update; the answer is the plan's new state. */
  function action<B, P extends { id: string }>(
    method: 'post' | 'patch', path: string, roles: RouteSpec['roles'], operationId: string, summary: string, params: ZodType<P>, body: ZodType<B>,
    perform: (params: P, body: B, p: Principal, state: CarePlanState) => Promise<CarePlanState>,
  ): void {
    routes.add({
      method, path: `/v1/care-plans/:id${path}`, tag: 'care plans', roles, operationId, summary, params, body,
      responses: {
        200: { description: 'the plan after the action', schema: CarePlanView },
        404: { description: 'unknown plan or visit' },
        409: { description: 'the plan or the visit is in a state that forbids the action (the body names it)' },
      },
      handler: async ({ params: p, body: b, principal }): Promise<Reply> => {
        const state = await authorisedState(p.id, principal);
        return { status: 200, body: await carePlanView(pool, await perform(p, b, principal, state), principal), caseId: p.id };
      },
    });
  }

  /** The visit must exist (404) and, for a partner, be its own (403) before the workflow judges its state (409). */
  async function requireVisit(planId: string, visitId: string, state: CarePlanState, p: Principal): Promise<void> {
    const row = await getCareVisit(pool, planId, visitId);
    const visit = row ?? state.openVisits.find((v) => v.visitId === visitId);
    if (!visit) throw notFound(`visit ${visitId} of care plan ${planId}`);
    if (p.role === 'partner' && visit.partnerId !== p.partnerId) throw forbidden(`visit ${visitId} is not one of your organisation's`);
    if (row && SETTLED_VISIT_STATUSES.includes(row.status) && !state.openVisits.some((v) => v.visitId === visitId)) {
      throw conflict(`visit ${visitId} is ${row.status}`, { state: row.status });
    }
  }

  const partnerOf = (p: Principal) => ({ partnerId: p.partnerId!, actor: actorOf(p) });

  action('post', '/visits/:visitId/check-in', ['partner'], 'checkInCareVisit',
    'Check in to a visit (its partner only): who serves and where; opens lateAfter before the visit is due', VisitParams, CheckIn,
    async ({ id, visitId }, b, p, s) => {
      await requireVisit(id, visitId, s, p);
      return update(id, cp.checkInVisit, { ...partnerOf(p), visitId, carer: b.carer, location: b.location ?? null });
    });
  action('post', '/visits/:visitId/check-out', ['partner'], 'checkOutCareVisit',
    'Check out of a visit (its partner only): the services delivered; hours = check-out minus check-in', VisitParams, CheckOut,
    async ({ id, visitId }, b, p, s) => {
      await requireVisit(id, visitId, s, p);
      return update(id, cp.checkOutVisit, { ...partnerOf(p), visitId, services: b.services, note: b.note ?? null });
    });
  action('post', '/visits/:visitId/cancel', STAFF, 'cancelCareVisit', 'Cancel one scheduled visit with a reason (not counted as missed)',
    VisitParams, Reason, async ({ id, visitId }, b, p, s) => {
      await requireVisit(id, visitId, s, p);
      return update(id, cp.cancelVisit, { visitId, reason: b.reason, actor: actorOf(p) });
    });
  action('patch', '', STAFF, 'changeCarePlan', 'Change the schedule, partner, services or end date, from the next visit on (old and new partner told)',
    PlanParams, ChangeCarePlan, async ({ id }, b, p, s) => {
      if (b.partnerId) await requireActivePartner(pool, b.partnerId, 'body.partnerId');
      if (b.schedule) {
        const issues: { path: string; message: string }[] = [];
        checkSchedule({ ...s.schedule, ...b.schedule }, { addIssue: (i: { path: string[]; message: string }) => issues.push({ path: `body.schedule.${i.path.join('.')}`, message: i.message }) } as never);
        if (issues.length) throw badRequest(`${issues.length} invalid field(s): ${issues.map((i) => i.path).join(', ')}`, issues);
      }
      return update(id, cp.changeCarePlan, { ...b, actor: actorOf(p) });
    });
  action('post', '/pause', STAFF, 'pauseCarePlan', 'Pause the plan: scheduled visits are cancelled, none scheduled until resumed',
    PlanParams, Reason, ({ id }, b, p) => update(id, cp.pauseCarePlan, { reason: b.reason, actor: actorOf(p) }));
  action('post', '/resume', STAFF, 'resumeCarePlan', 'Resume a paused plan: the next visit falls on the plan\'s rhythm',
    PlanParams, EmptyBody.optional(), ({ id }, _b, p) => update(id, cp.resumeCarePlan, { actor: actorOf(p) }));
  action('post', '/end', STAFF, 'endCarePlan', 'End the plan with a reason (the partner gets plan.ended)',
    PlanParams, Reason, ({ id }, b, p) => update(id, cp.endCarePlan, { reason: b.reason, actor: actorOf(p) }));
  action('post', '/escalation/acknowledge', STAFF, 'acknowledgeCarePlanEscalation', 'Take on the escalation of a missed visit',
    PlanParams, Note, ({ id }, b, p) => update(id, cp.acknowledgeCareEscalation, { note: b.note, actor: actorOf(p) }));

  carePlanReadRoutes(routes, deps, authorisedState);
}

