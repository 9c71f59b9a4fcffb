/** Validator failures of case updates; the API turns their types into 409, 403 and 400. */
import { ApplicationFailure } from '@temporalio/workflow';
import * as m from './messages';

/** 409: the action is not allowed in the case's current state (the details carry the state). */
export function invalidState(status: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: m.FAILURE_INVALID_STATE, message, details: [{ status }] });
}

export function requireStatus<S extends string>(status: S, allowed: readonly S[], action: string): void {
  if (!allowed.includes(status)) throw invalidState(status, `cannot ${action} a case that is ${status}`);
}

/** 403: the caller is a partner, but not the one this order or review was sent to. */
export const notYourOrder = (message: string) => ApplicationFailure.create({ type: m.FAILURE_NOT_YOUR_ORDER, message });

/** 400: the request is well formed but makes no sense for this case. */
export const invalidAction = (message: string) => ApplicationFailure.create({ type: m.FAILURE_BAD_REQUEST, message });
