/**
 * What a partner may know about a resident. A partner needs the name, phone and address to
 * serve an order, and only while the order is active (awaiting its answer, or in progress).
 * Once it has completed the order (or the case has closed) it may still read the case it
 * worked on, but without the resident's contact details. A withdrawn, declined or reassigned
 * order is no longer its own at all (403, see serviceRequests.ts).
 */
import type { Resident, ServiceRequestState, ServiceRequestStatus } from '../domain/serviceRequest';
import type { Principal } from './auth';

const ORDER_ACTIVE: readonly ServiceRequestStatus[] = ['awaiting_ack', 'in_progress'];

/** The resident without contact details: where to serve, not whom to call. */
export function withoutContactDetails(r: Resident): Partial<Resident> {
  const { community, compound, grid, flags } = r;
  return { community, compound, grid, flags };
}

export function serviceRequestFor(p: Principal, s: ServiceRequestState): ServiceRequestState {
  if (p.role !== 'partner' || ORDER_ACTIVE.includes(s.status)) return s;
  // The response schema has every resident field optional; the state type does not.
  return { ...s, resident: withoutContactDetails(s.resident) as Resident };
}
