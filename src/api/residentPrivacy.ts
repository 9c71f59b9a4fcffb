/**
 * What a partner may know about a resident and the case. A partner needs the name, phone and
 * address to serve an order, and only while the order is active (awaiting its answer, or in
 * progress). Once it has completed the order (or the case has closed) it may still read the
 * case it worked on, to see the outcome of its own work (status, deadlines, survey score),
 * but no longer the resident's contact details, nor anything written in free text about
 * them (the description, notes and reasons, the survey comment), nor the resident's flags
 * (elderly living alone, disability...). A withdrawn, declined or reassigned order is no
 * longer its own at all (403, see serviceRequests.ts).
 */
import type { Resident, ServiceRequestState, ServiceRequestStatus } from '../domain/serviceRequest';
import type { Principal } from './auth';

const ORDER_ACTIVE: readonly ServiceRequestStatus[] = ['awaiting_ack', 'in_progress'];

/** The resident without contact details or flags: where the work was, not whom it was for. */
export function withoutContactDetails(r: Resident): Partial<Resident> {
  const { community, compound, grid } = r;
  return { community, compound, grid };
}

export function serviceRequestFor(p: Principal, s: ServiceRequestState): ServiceRequestState {
  if (p.role !== 'partner' || ORDER_ACTIVE.includes(s.status)) return s;
  // The response schema has these fields optional; the state type does not.
  const { description: _description, ...rest } = s;
  return {
    ...rest,
    resident: withoutContactDetails(s.resident) as Resident,
    completion: s.completion ? { hoursSpent: s.completion.hoursSpent, at: s.completion.at } as ServiceRequestState['completion'] : null,
    extension: s.extension ? (({ reason: _reason, ...e }) => e)(s.extension) as ServiceRequestState['extension'] : null,
    survey: s.survey ? { score: s.survey.score, comment: null, at: s.survey.at } : null,
    cancellation: null,
  } as ServiceRequestState;
}
