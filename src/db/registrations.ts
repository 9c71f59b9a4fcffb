/** Read-model queries of registration cases. */
import type { Pool } from 'pg';
import type { RegistrationState } from '../domain/registration';

const iso = (v: Date | null) => (v ? v.toISOString() : null);

/** Rebuild a case's state from its read-model row (the workflow closed long ago, or no worker answers). */
export async function registrationFromReadModel(pool: Pool, caseId: string): Promise<RegistrationState | null> {
  const { rows } = await pool.query(`SELECT * FROM cases WHERE id = $1 AND type = 'registration'`, [caseId]);
  const r = rows[0];
  if (!r) return null;
  const d = r.details ?? {};
  const dl = r.deadlines ?? {};
  return {
    id: r.id, caseType: 'registration', status: r.status, businessType: r.category, applicants: d.applicants ?? [],
    property: d.property ?? {}, community: r.community, delivery: d.delivery, linkedInstitutions: d.linkedInstitutions ?? [],
    documents: d.documents ?? [], missingDocuments: d.missingDocuments ?? [], reviews: d.reviews ?? {},
    certificateNo: d.certificateNo ?? null, timeToCertificateMs: d.timeToCertificateMs ?? null,
    completionTargetMs: d.completionTargetMs, withinCompletionTarget: d.withinCompletionTarget ?? null, sameDay: d.sameDay ?? null,
    overdue: r.overdue, deadlines: { supplement: dl.supplement, survey: dl.survey }, rejection: d.rejection ?? null,
    delivered: d.delivered ?? null, survey: d.survey ?? null, withdrawal: d.withdrawal ?? null, sla: d.sla ?? {},
    createdAt: r.created_at.toISOString(), acceptedAt: iso(r.acknowledged_at), certificateIssuedAt: iso(r.completed_at),
    closedAt: iso(r.closed_at), outcome: r.outcome,
    ...(d.escalations ? { escalations: d.escalations, provisionalDeadlines: d.provisionalDeadlines ?? [], workingTimeToCertificateMs: d.workingTimeToCertificateMs ?? null } : {}),
  };
}

/** Which of `ids` are not active linked institutions (unknown, another kind, or inactive), each with why. */
export async function invalidLinkedInstitutions(pool: Pool, ids: readonly string[]): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  if (ids.length === 0) return problems;
  const { rows } = await pool.query<{ id: string; kind: string; active: boolean }>(
    'SELECT id, kind, active FROM partners WHERE id = ANY ($1::text[])', [ids]);
  const found = new Map(rows.map((r) => [r.id, r]));
  for (const id of ids) {
    const p = found.get(id);
    if (!p) problems.set(id, `partner ${id} does not exist`);
    else if (p.kind !== 'linked_institution') problems.set(id, `partner ${id} is a ${p.kind}, not a linked institution`);
    else if (!p.active) problems.set(id, `partner ${id} is not active`);
  }
  return problems;
}
