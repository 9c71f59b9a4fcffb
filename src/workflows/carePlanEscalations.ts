/**
 * A care plan's missed visits on the escalation chain (逐级督办, docs/care-plans.md
 * "Escalations" and docs/sla-clocks.md): a missed visit raises a `care_visit_missed`
 * escalation that climbs 1 -> 2 -> 3 after each step's wait on the care-plan policy's calendar,
 * telling each level's contacts (`escalation.raised`), until someone takes it on or the next
 * visit is completed.
 *
 * Plans whose run began before the `care-plan-escalation-chain` patch keep the one-level
 * escalation of before (every committed history replays); a plan's next run (continue-as-new)
 * moves onto the chain, its open escalation carried over at level 1.
 */
import { patched } from '@temporalio/workflow';
import type { CareEscalation, CarePlanWorkflowInput } from '../domain/carePlan';
import { DEFAULT_ESCALATION_STEPS, type EscalationRecord } from '../domain/escalation';
import type { CarePlanSlaSnapshot } from '../domain/sla';
import { dueAfter, escalationStepsOf, stepsInMs } from '../domain/slaClock';
import type { Deadline } from './caseKernel';
import type { CarePlanKernel } from './carePlanBook';
import { CaseEscalations } from './escalationChain';

export const CARE_PLAN_CHAIN_PATCH = 'care-plan-escalation-chain';

const REASON = 'care_visit_missed' as const;
const iso = (ms: number) => new Date(ms).toISOString();

export type CarePlanChain = ReturnType<typeof carePlanChain>;

/** The plan's chain, or null for a run that began before the patch. Call once, before the handlers are set. */
export function carePlanChainIfPatched(kernel: CarePlanKernel, input: CarePlanWorkflowInput): CarePlanChain | null {
  return patched(CARE_PLAN_CHAIN_PATCH) ? carePlanChain(kernel, input) : null;
}

/** An escalation of the code before the chain (one level, no climb), as a record of the chain. */
function fromOneLevel(e: CareEscalation, clock: CarePlanSlaSnapshot): EscalationRecord {
  const acknowledged = Boolean(e.acknowledgedAt);
  const next = escalationStepsOf(clock).find((s) => s.level > 1);
  return {
    number: 1, reason: REASON, level: 1, status: acknowledged ? 'acknowledged' : 'open', since: e.since, levelSince: e.since,
    nextLevelAt: !acknowledged && next ? iso(dueAfter(clock, Date.parse(e.since), next.afterMs).at) : null,
    ...(acknowledged ? { acknowledgedBy: e.acknowledgedBy ?? undefined, acknowledgedAt: e.acknowledgedAt ?? undefined } : {}),
  };
}

function carePlanChain(kernel: CarePlanKernel, input: CarePlanWorkflowInput) {
  const { state, memory } = kernel;
  // Fixed once for the plan's life and carried across runs: the intake's snapshot, or this release's defaults.
  const clock = (memory.escalationClock ??= input.sla ?? { source: {}, escalationSteps: stepsInMs(DEFAULT_ESCALATION_STEPS) });
  if (!state.escalations) {
    state.escalations = state.escalation ? [fromOneLevel(state.escalation, clock)] : [];
    memory.escalationVisitId = state.escalation?.visitId ?? null;
  }
  const records = state.escalations;
  const chain = new CaseEscalations(kernel, records, clock, {
    caseId: input.caseId, caseType: 'care_plan', workflowId: kernel.workflowId, community: () => state.resident.community,
  });
  const live = () => records.find((r) => r.reason === REASON && r.status !== 'resolved');

  /** The plan's `escalation` (GET, the case row's overdue and deadline) follows the chain's record. */
  function show(): void {
    const r = live();
    state.escalation = r && r.level > 0
      ? {
        level: r.level, reason: 'visit_missed', visitId: memory.escalationVisitId ?? '', since: r.since,
        acknowledgedBy: r.acknowledgedBy ?? null, acknowledgedAt: r.acknowledgedAt ?? null, escalation: r.number, nextLevelAt: r.nextLevelAt,
      }
      : null;
  }
  show();

  return {
    /**
     * A visit was missed. While an escalation of a missed visit climbs, a further miss joins it
     * (it keeps climbing); one already taken on is closed (`superseded`) and a new one starts at
     * level 1, so every miss after an acknowledgement reaches someone again.
     */
    visitMissed(visitId: string): void {
      const current = live();
      const takenOn = current?.status === 'acknowledged';
      if (takenOn) chain.resolve([REASON], 'superseded_by_next_miss');
      if (!current || takenOn) memory.escalationVisitId = visitId;
      chain.raise(REASON);
      show();
    },
    /** The next completed visit (or the plan's end) resolves it. */
    resolve(actor: string, cause: string): void {
      chain.resolve(cause === 'plan_ended' ? 'all' : [REASON], cause, actor);
      show();
    },
    acknowledge(actor: string, note: string): void {
      chain.acknowledge(actor, note);
      show();
    },
    get acknowledgeable(): boolean { return chain.acknowledgeable; },
    nextStep(): Deadline | null {
      const step = chain.nextStep();
      return step && { at: step.at, fire: () => { step.fire(); show(); } };
    },
    sendNotices: () => chain.sendNotices(),
  };
}
