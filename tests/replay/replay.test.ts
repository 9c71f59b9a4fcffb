/**
 * Replay: every committed history in tests/replay/histories/ must replay against today's
 * workflow code (the bundle every test of the run uses). A failure here means a change would
 * break cases already running: put it behind `patched()` (fixtures/intakeNoticePatched.ts
 * shows how), don't re-record to make this test pass.
 *
 * The histories are the shapes of the workflow tests (tests/workflow/serviceRequest.test.ts),
 * written by them when asked:
 *
 *     RECORD_HISTORIES=1 npx jest tests/workflow/serviceRequest.test.ts tests/workflow/registration.test.ts \
 *       tests/workflow/registrationReviewers.test.ts tests/workflow/longLivedCase.test.ts \
 *       tests/workflow/carePlan.test.ts tests/workflow/carePlanEscalations.test.ts tests/workflow/slaClocks.test.ts
 *
 * Record again when a new shape appears (or to drop histories from code paths that no
 * running case can be on any more); keep the older files as long as such cases may exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

const HISTORIES_DIR = join(__dirname, 'histories');
const FIXTURES_DIR = join(__dirname, 'fixtures');

/** The workflow shapes that must always have a committed history. */
const REQUIRED_SHAPES = [
  'happy-path', 'decline-escalate-assign', 'unanswered-escalated-assigned', 'reopen', 'survey-no-response',
  'cancel-in-progress', 'cancel-while-dispatching', 'overdue-extension', 'dispatch-webhook-gives-up',
  // accepted while the order's delivery was still retried: before the cancel-stale-deliveries patch (the
  // retries ran on) and after it (the delivery cancelled); both must replay on today's code
  'accept-while-delivering-before-patch', 'accept-while-delivering',
  // registration cases (tests/workflow/registration.test.ts records them the same way)
  'registration-supplement-lapsed', 'registration-rejected', 'registration-home-delivery-no-response',
  'registration-cancelled-awaiting-documents',
  // a department answered while its review request was still retried, before and after cancel-stale-deliveries
  'registration-answered-while-delivering-before-patch', 'registration-answered-while-delivering',
  // linked institutions told at delivery (before notice-at-issue) and at the certificate (after it)
  'registration-home-delivery-no-response-before-patch', 'registration-home-delivery-no-response',
  // a supervisor moving a review, and a department searched for until a reviewer appears (reviewer-search;
  // tests/workflow/registrationReviewers.test.ts)
  'registration-review-reassigned', 'registration-reviewer-search',
  // a department without reviewer found again at the reminder, before reviewer-search (recorded on the code before it)
  'registration-no-reviewer-before-patch',
  // long-lived cases (continue-as-new): the run that continues, a run that starts from carried
  // state and continues again, and the run that ends the case (tests/workflow/longLivedCase.test.ts)
  'continued-as-new-first-run', 'continued-as-new-second-run', 'continued-as-new-last-run',
  'registration-continued-as-new-first-run', 'registration-continued-as-new-second-run', 'registration-continued-as-new-last-run',
  // working-day clocks, holds and the escalation chain (tests/workflow/slaClocks.test.ts, on 2026 dates)
  'sla-national-day-overdue', 'sla-hold-over-weekend', 'sla-escalation-climbs', 'sla-escalation-acknowledged',
  'sla-snapshot-differs-from-release',
  // care plans (tests/workflow/carePlan.test.ts): the visit cycle with an installation, a change of plan, continued runs
  'care-plan-visit-cycle', 'care-plan-changed',
  'care-plan-continued-as-new-first-run', 'care-plan-continued-as-new-second-run', 'care-plan-continued-as-new-last-run',
  // missed visits on the escalation chain (care-plan-escalation-chain; tests/workflow/carePlanEscalations.test.ts),
  // and a reviewer assigned by hand on the calendar (assigned-review-on-calendar; tests/workflow/registrationReviewers.test.ts)
  'care-plan-escalation-climbs', 'care-plan-escalation-acknowledged', 'registration-review-reassigned-on-calendar',
  // a low survey score's escalation climbing after the case closed, and one taken on (escalation-climbs-after-close)
  'sla-low-score-climbs-after-close', 'sla-low-score-acknowledged-after-close', 'registration-low-score-climbs-after-close',
];

type History = temporal.api.history.v1.IHistory;

function loadHistories(): Array<{ workflowId: string; history: History }> {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, f), 'utf8'))),
    }));
}

const histories = loadHistories();
const history = (name: string) => histories.find((h) => h.workflowId === name)!.history;

const { EventType } = temporal.api.enums.v1;

beforeAll(() => {
  // Quiet: the negative test makes the SDK log the nondeterminism it is expected to find.
  const silent = () => undefined;
  Runtime.install({
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent } as never,
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
  });
});

describe('committed workflow histories', () => {
  it('cover the main shapes of a resident request and a registration case, each run to the end of its run', () => {
    expect(histories.map((h) => h.workflowId)).toEqual(expect.arrayContaining(REQUIRED_SHAPES));
    for (const { workflowId, history: h } of histories) {
      const types = h.events!.map((e) => EventType[e.eventType!]);
      // A run of a long-lived case may end by continuing as new (its files are named -first-run, -second-run).
      const end = /-(first|second)-run$/.test(workflowId) ? 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW' : 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED';
      expect({ workflowId, first: types[0], last: types.at(-1) }).toEqual({
        workflowId, first: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', last: end,
      });
    }
  });

  it('replay against the current workflow code without a determinism violation', async () => {
    const failures: Array<{ workflowId: string; error: string }> = [];
    let replayed = 0;
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, replayName: 'committed histories' },
      histories,
    );
    for await (const result of results) {
      replayed += 1;
      if (result.error) failures.push({ workflowId: result.workflowId, error: `${result.error.name}: ${result.error.message}` });
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});

describe('a changed workflow', () => {
  it('is caught when a step is added without patched(): replaying an old case fails with a DeterminismViolationError', async () => {
    const replay = Worker.runReplayHistory(
      { workflowsPath: join(FIXTURES_DIR, 'intakeNoticeUnpatched.ts'), replayName: 'unpatched change' },
      history('happy-path'), 'happy-path',
    );
    await expect(replay).rejects.toBeInstanceOf(DeterminismViolationError);
    await expect(replay).rejects.toThrow(/deliverWebhook|recordCaseEvents|nondetermin/i);
  });

  it('replays cleanly when the same step is behind patched()', async () => {
    await expect(Worker.runReplayHistory(
      { workflowsPath: join(FIXTURES_DIR, 'intakeNoticePatched.ts'), replayName: 'patched change' },
      history('happy-path'), 'happy-path',
    )).resolves.toBeUndefined();
  });
});
