/**
 * The order-link kind `visit`: one care-plan visit, for the partner it was scheduled for.
 * Check-in and check-out are the same workflow Updates, with the same bodies, as the partner
 * routes under /v1/care-plans/{id}/visits/{visitId}. The link dies once the visit is settled
 * (completed, missed, cancelled), the plan is over, or the visit now belongs to another
 * partner (a partner change moves the visits whose check-in has not opened; those already due
 * or in progress stay with their partner, and so does their link, as in the workflow).
 */
import type { UpdateDefinition } from '@temporalio/common';
import type { OrderLinkRow } from '../db/orderLinks';
import type { CarePlanState } from '../domain/carePlan';
import { caseWorkflowId } from '../domain/caseTypes';
import * as cp from '../workflows/carePlanMessages';
import { CheckIn, CheckOut } from './carePlanSchemas';
import type { ApiDeps } from './deps';
import type { LinkAction, OrderLinkKindSpec } from './orderLinkKinds';
import { carePlanFromReadModel, carePlanView } from './routes/carePlans';
import { queryState, runUpdate } from './workflowCalls';

type ByLink = (link: OrderLinkRow) => { partnerId: string; actor: string };

const VISIT_ACTIONS: Record<string, string[]> = { scheduled: ['check-in'], in_progress: ['check-out'] };
const workflowId = (caseId: string) => caseWorkflowId('care_plan', caseId);

async function planState({ temporal, pool }: ApiDeps, caseId: string): Promise<CarePlanState | null> {
  return (await queryState(temporal, workflowId(caseId), cp.getCarePlanState)) ?? carePlanFromReadModel(pool, caseId);
}

/** The link's visit while the link's partner may still act on it. */
function liveVisit(s: CarePlanState | null, link: OrderLinkRow) {
  if (!s || (s.status !== 'active' && s.status !== 'paused')) return null;
  const v = s.openVisits.find((o) => o.visitId === link.order_id && o.partnerId === link.partner_id);
  if (!v || !VISIT_ACTIONS[v.status]) return null;
  return v;
}

export function visitKind(byLink: ByLink): OrderLinkKindSpec {
  function perform<A>(def: UpdateDefinition<CarePlanState, [A]>, arg: (link: OrderLinkRow, body: any) => A): LinkAction['perform'] {
    return async (deps, link, body) => {
      const state = await runUpdate(deps.temporal, workflowId(link.case_id), def, arg(link, body), `care plan ${link.case_id}`,
        async () => (await carePlanFromReadModel(deps.pool, link.case_id))?.status ?? null);
      return carePlanView(deps.pool, state, { keyId: `order-link:${link.order_id}`, role: 'partner', partnerId: link.partner_id, communities: null });
    };
  }
  return {
    async load(deps, link) {
      const s = await planState(deps, link.case_id);
      const v = liveVisit(s, link);
      if (!s || !v) return null;
      // What the carer needs at the door: the resident as the plan's own partner sees it, the services, the times.
      const { name, phone, address, community, compound, flags } = s.resident;
      return {
        caseType: 'care_plan', status: v.status, actions: VISIT_ACTIONS[v.status],
        case: {
          planId: s.id, visitId: v.visitId, dueAt: v.dueAt, checkInFrom: v.checkInFrom ?? null, checkInAt: v.checkInAt ?? null,
          services: v.plannedServices, resident: { name, phone, address, community, compound, flags },
        },
      };
    },
    actions: {
      'check-in': {
        body: CheckIn,
        perform: perform(cp.checkInVisit, (l, b) => ({ ...byLink(l), visitId: l.order_id, carer: b.carer, location: b.location ?? null })),
      },
      'check-out': {
        body: CheckOut,
        perform: perform(cp.checkOutVisit, (l, b) => ({ ...byLink(l), visitId: l.order_id, services: b.services, note: b.note ?? null })),
      },
    },
  };
}
