/**
 * What each kind of order link shows and lets the partner do. One entry per kind: how to read
 * the live order (null when it has moved on or ended: the link is dead), and its actions, each
 * the same workflow Update with the same body as the partner's own route. Care-plan visits are
 * the kind `visit` (check-in / check-out, ./visitOrderLink.ts).
 */
import type { UpdateDefinition } from '@temporalio/common';
import type { ZodType } from 'zod';
import type { OrderLinkKind, OrderLinkRow } from '../db/orderLinks';
import { registrationFromReadModel } from '../db/registrations';
import type { RegistrationState } from '../domain/registration';
import type { ServiceRequestState } from '../domain/serviceRequest';
import * as m from '../workflows/messages';
import type { Principal } from './auth';
import { actorOf } from './caseIntake';
import type { ApiDeps } from './deps';
import { ReviewAnswer } from './registrationSchemas';
import { registrationView } from './routes/registrations';
import { serviceRequestView } from './routes/serviceRequests';
import { Complete, Decline, EmptyBody, Progress } from './schemas';
import { visitKind } from './visitOrderLink';
import { queryState, runUpdate } from './workflowCalls';

export interface LiveOrder {
  caseType: string;
  status: string;
  /** The actions the order allows now. */
  actions: string[];
  case: Record<string, unknown>;
}

export interface LinkAction {
  body: ZodType<any>;
  perform(deps: ApiDeps, link: OrderLinkRow, body: any): Promise<unknown>;
}

export interface OrderLinkKindSpec {
  load(deps: ApiDeps, link: OrderLinkRow): Promise<LiveOrder | null>;
  actions: Record<string, LinkAction>;
}

/** The partner the link stands for, as the workflow's actor (`partner:order-link:<orderId>` in the timeline and audit log). */
export const linkPrincipal = (link: OrderLinkRow): Principal => ({ keyId: `order-link:${link.order_id}`, role: 'partner', partnerId: link.partner_id, communities: null });

// ---- service orders ----

async function serviceRequestState({ temporal, pool }: ApiDeps, caseId: string): Promise<ServiceRequestState | null> {
  const live = await queryState(temporal, m.serviceRequestWorkflowId(caseId), m.getServiceRequestState);
  if (live) return live;
  const { rows } = await pool.query<{ status: string }>(`SELECT status FROM cases WHERE id = $1`, [caseId]);
  return rows[0] ? ({ status: rows[0].status, currentOrderId: null, assignedPartnerId: null } as unknown as ServiceRequestState) : null;
}

const SERVICE_ORDER_ACTIONS: Record<string, string[]> = { awaiting_ack: ['accept', 'decline'], in_progress: ['progress', 'complete'] };

function serviceUpdate<A>(def: UpdateDefinition<ServiceRequestState, [A]>, arg: (link: OrderLinkRow, body: any) => A): LinkAction['perform'] {
  return async (deps, link, body) => {
    const state = await runUpdate(deps.temporal, m.serviceRequestWorkflowId(link.case_id), def, arg(link, body), `service request ${link.case_id}`,
      async () => (await serviceRequestState(deps, link.case_id))?.status ?? null);
    return serviceRequestView(state);
  };
}

const byLink = (link: OrderLinkRow) => ({ partnerId: link.partner_id, actor: actorOf(linkPrincipal(link)) });

const serviceOrder: OrderLinkKindSpec = {
  async load(deps, link) {
    const s = await serviceRequestState(deps, link.case_id);
    if (!s || s.currentOrderId !== link.order_id || s.assignedPartnerId !== link.partner_id || !SERVICE_ORDER_ACTIONS[s.status]) return null;
    return { caseType: 'service_request', status: s.status, actions: SERVICE_ORDER_ACTIONS[s.status], case: serviceRequestView(s) };
  },
  actions: {
    accept: { body: EmptyBody.optional(), perform: serviceUpdate(m.acceptOrder, (l) => byLink(l)) },
    decline: { body: Decline, perform: serviceUpdate(m.declineOrder, (l, b) => ({ ...byLink(l), reason: b.reason })) },
    progress: { body: Progress, perform: serviceUpdate(m.reportProgress, (l, b) => ({ ...byLink(l), note: b.note })) },
    complete: { body: Complete, perform: serviceUpdate(m.completeOrder, (l, b) => ({ ...byLink(l), note: b.note, hoursSpent: b.hoursSpent ?? null })) },
  },
};

// ---- registration reviews (a department) ----

async function registrationState({ temporal, pool }: ApiDeps, caseId: string): Promise<RegistrationState | null> {
  return (await queryState(temporal, m.registrationWorkflowId(caseId), m.getRegistrationState)) ?? registrationFromReadModel(pool, caseId);
}

const pendingReview = (s: RegistrationState, link: OrderLinkRow) =>
  Object.entries(s.reviews).find(([, r]) => r.orderId === link.order_id && r.partnerId === link.partner_id && r.status === 'pending');

const review: OrderLinkKindSpec = {
  async load(deps, link) {
    const s = await registrationState(deps, link.case_id);
    const found = s && s.status === 'in_review' ? pendingReview(s, link) : undefined;
    if (!s || !found) return null;
    return { caseType: 'registration', status: s.status, actions: ['review'], case: { ...registrationView(s), department: found[0] } };
  },
  actions: {
    review: {
      body: ReviewAnswer,
      async perform(deps, link, body) {
        const s = await registrationState(deps, link.case_id);
        const found = s ? pendingReview(s, link) : undefined;
        const department = (found?.[0] ?? 'tax') as m.RecordReview['department'];
        const state = await runUpdate(deps.temporal, m.registrationWorkflowId(link.case_id), m.recordReview,
          { department, ...byLink(link), approved: body.approved, reason: body.reason ?? null }, `registration ${link.case_id}`,
          async () => (await registrationFromReadModel(deps.pool, link.case_id))?.status ?? null);
        return registrationView(state);
      },
    },
  },
};

/** A kind not served is simply absent: its links answer 404. */
export const ORDER_LINK_KIND_SPECS: Partial<Record<OrderLinkKind, OrderLinkKindSpec>> = { service_order: serviceOrder, review, visit: visitKind(byLink) };

/** Every action name any kind knows, for the route's parameter schema. */
export const ORDER_LINK_ACTIONS = ['accept', 'decline', 'progress', 'complete', 'check-in', 'check-out', 'review'] as const;
