/**
 * What retention removes from a closed case's read model: the personal data and free text,
 * wherever they sit in the snapshot details or the timeline events, by key name, so case
 * types added later are covered without a list per type.
 *
 * Removed: residents' and applicants' names, phones, addresses, unit numbers, ID numbers,
 * e-mails; free text (descriptions, notes, comments, and reasons typed by a person).
 * Kept: everything the figures are made of: statuses, times, categories, communities and
 * grids, flags, scores, hours spent, SLA measures, partner ids, order ids, certificate
 * numbers, document codes, and reasons that are machine codes (`no_reviewer`,
 * `fulfilment_overdue`), which reports group by. Applicant lists keep their length.
 */

/** Keys whose value is personal data or free text, at any depth. */
const PERSONAL_KEYS = new Set(['name', 'phone', 'address', 'unitNo', 'idNumber', 'email', 'description', 'note', 'notes', 'comment']);

/** A reason the system wrote (`review_overdue`) is a category; one a person typed is free text. */
const MACHINE_CODE = /^[a-z][a-z0-9_]*$/;

export function redactPersonalData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactPersonalData);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (PERSONAL_KEYS.has(key)) continue;
    if (key === 'reason' && !(typeof v === 'string' && MACHINE_CODE.test(v))) continue;
    out[key] = redactPersonalData(v);
  }
  return out;
}
