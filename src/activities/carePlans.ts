/** Side effects of the care-plan workflow: its visits in the read model, and what an installation's service request needs. */
import type { Pool } from 'pg';
import { upsertCareVisits } from '../db/carePlans';
import { loadSlaPolicies } from '../db/slaPolicies';
import type { CareVisitRecord } from '../domain/carePlan';
import { resolveServiceRequestSla, type ServiceRequestSlaSnapshot } from '../domain/sla';
import { withSlaClock } from '../api/slaClock';

export interface CareVisitBatch { visits: CareVisitRecord[] }

export async function recordCareVisits(pool: Pool, batch: CareVisitBatch): Promise<void> {
  await upsertCareVisits(pool, batch.visits);
}

/**
 * The SLA an installation's service request starts with (category housing, urgency normal),
 * resolved as `POST /v1/service-requests` resolves it, with its clock (the policy's calendar
 * snapshot, escalation steps and maxHold: docs/sla-clocks.md), and handed to the workflow as an
 * activity result so a policy or calendar change never alters a running plan's replay.
 */
export async function resolveInstallationSla(pool: Pool): Promise<ServiceRequestSlaSnapshot> {
  return withSlaClock(pool, resolveServiceRequestSla(await loadSlaPolicies(pool), 'housing', 'normal'), Date.now(), true);
}
