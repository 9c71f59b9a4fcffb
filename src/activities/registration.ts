/** Side effects of registration cases: choosing each department's reviewer, issuing certificate numbers. */
import type { Pool } from 'pg';
import { formatCertificateNo } from '../domain/registration';
import type { Department } from '../domain/vocabulary';

export interface ReviewerCriteria {
  caseId: string;
  department: Department;
  /** The case's community, if any: a department partner naming communities serves only those. */
  community: string | null;
}

export interface DepartmentReviewer {
  partnerId: string;
  name: string;
  openReviews: number;
}

/**
 * The reviewer for one department of a case: an active `department` partner of that
 * department (one that names communities only for those; one that names none for all).
 * A partner covering the case's community by name comes before a general one; then the
 * fewest open reviews (pending in the read model), then the longest since its last
 * request. Marks the chosen partner in the same statement so concurrent cases spread out.
 */
const SELECT_REVIEWER_SQL = `
WITH candidates AS (
  SELECT p.id, p.name, p.last_dispatched_at,
    ($2::text IS NOT NULL AND $2 = ANY (p.communities)) AS covers_by_name,
    (SELECT count(*) FROM cases c
      WHERE c.type = 'registration' AND c.status = 'in_review' AND c.id <> $3
        AND c.details->'reviews'->$1->>'partnerId' = p.id
        AND c.details->'reviews'->$1->>'status' = 'pending')::int AS open_reviews
  FROM partners p
  WHERE p.active AND p.kind = 'department' AND p.department = $1
    AND (cardinality(p.communities) = 0 OR $2 = ANY (p.communities))
), best AS (
  SELECT * FROM candidates
  ORDER BY covers_by_name DESC, open_reviews ASC, last_dispatched_at ASC NULLS FIRST, id
  LIMIT 1
)
UPDATE partners p SET last_dispatched_at = now()
FROM best WHERE p.id = best.id
RETURNING best.id AS "partnerId", best.name, best.open_reviews AS "openReviews"`;

export async function selectDepartmentReviewer(pool: Pool, c: ReviewerCriteria): Promise<DepartmentReviewer | null> {
  const { rows } = await pool.query<DepartmentReviewer>(SELECT_REVIEWER_SQL, [c.department, c.community, c.caseId]);
  return rows[0] ?? null;
}

export interface CertificateRequest {
  caseId: string;
  /** Year of issue (Asia/Shanghai), chosen by the workflow so every retry asks for the same one. */
  year: number;
}

export interface IssuedCertificate {
  certificateNo: string;
  sequence: number;
}

/**
 * Draw the case's number from the sequence once: a retried activity (or a replayed
 * workflow) finds the row it wrote and gets the same number, and no number is drawn for a
 * case that already has one. Both halves run in one statement, so the union sees either
 * the new row or the old one, never both.
 */
const ISSUE_CERTIFICATE_SQL = `
WITH issued AS (
  INSERT INTO registration_certificates (case_id, year, sequence)
  SELECT $1, $2, nextval('registration_certificate_seq')
  WHERE NOT EXISTS (SELECT 1 FROM registration_certificates WHERE case_id = $1)
  ON CONFLICT (case_id) DO NOTHING
  RETURNING year, sequence
)
SELECT year, sequence FROM issued
UNION ALL
SELECT year, sequence FROM registration_certificates WHERE case_id = $1`;

export async function issueCertificateNumber(pool: Pool, req: CertificateRequest): Promise<IssuedCertificate> {
  const { rows } = await pool.query<{ year: number; sequence: string }>(ISSUE_CERTIFICATE_SQL, [req.caseId, req.year]);
  const row = rows[0];
  if (!row) throw new Error(`no certificate number could be drawn for case ${req.caseId}`);
  const sequence = Number(row.sequence);
  return { certificateNo: formatCertificateNo(row.year, sequence), sequence };
}
