/**
 * Starting a case workflow, the one way: the API's intake routes and the workflow tests
 * both call `startCaseWorkflow`, so a test starts a case exactly as the API does (workflow
 * id from the registry, the typed search attributes of the case's first row).
 */
import type { Client, WorkflowHandle, WorkflowStartOptions } from '@temporalio/client';
import { carePlanSnapshot, initialCarePlanMemory, initialCarePlanState } from '../domain/carePlan';
import type { CaseSnapshot } from '../domain/caseEvents';
import { CASE_TYPE_DEFS, type CaseWorkflow, type CaseWorkflowInputs, caseWorkflowId } from '../domain/caseTypes';
import { initialRegistrationState, registrationSnapshot } from '../domain/registration';
import { SA } from '../domain/searchAttributes';
import { initialServiceRequestMemory, initialServiceRequestState, serviceRequestSnapshot } from '../domain/serviceRequest';
import type { CaseType } from '../domain/vocabulary';

/** The read-model row a case starts with (before any worker has run it): its search attributes come from it. */
const FIRST_ROW = {
  service_request: (i) => serviceRequestSnapshot(initialServiceRequestState(i), initialServiceRequestMemory(), caseWorkflowId('service_request', i.caseId)),
  registration: (i) => registrationSnapshot(initialRegistrationState(i), caseWorkflowId('registration', i.caseId)),
  care_plan: (i) => carePlanSnapshot(initialCarePlanState(i), initialCarePlanMemory(i), caseWorkflowId('care_plan', i.caseId)),
} satisfies { [T in CaseType]: (input: CaseWorkflowInputs[T]) => CaseSnapshot };

/** What a caller may add: the task queue, and the intake's id policies and memo. */
export type CaseStartExtras = { taskQueue: string } & Pick<WorkflowStartOptions, 'workflowIdConflictPolicy' | 'workflowIdReusePolicy' | 'memo'>;

export async function startCaseWorkflow<T extends CaseType>(
  client: Client, type: T, input: CaseWorkflowInputs[T], extras: CaseStartExtras,
): Promise<WorkflowHandle<CaseWorkflow<T>>> {
  const row = (FIRST_ROW[type] as (i: CaseWorkflowInputs[T]) => CaseSnapshot)(input);
  return client.workflow.start<CaseWorkflow<T>>(CASE_TYPE_DEFS[type].workflowType, {
    ...extras,
    workflowId: row.workflowId,
    args: [input] as Parameters<CaseWorkflow<T>>,
    typedSearchAttributes: [
      { key: SA.caseType, value: type },
      { key: SA.caseStatus, value: row.status },
      ...(row.category ? [{ key: SA.category, value: row.category }] : []),
      ...(row.community ? [{ key: SA.community, value: row.community }] : []),
    ],
  });
}
