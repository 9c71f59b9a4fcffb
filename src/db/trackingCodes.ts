/**
 * Tracking codes (table tracking_codes) and the read-model facts a resident may see by one:
 * status, the timeline's event types and times, open deadlines, the serving partner's name.
 * Nothing here reads a case's details (resident, applicants, description, notes).
 */
import type { Pool } from 'pg';
import { newTrackingCode } from '../intake/trackingCode';

const ISSUE_SQL = `
WITH ins AS (
  INSERT INTO tracking_codes (code, case_id, case_type) VALUES ($1, $2, $3)
  ON CONFLICT DO NOTHING RETURNING code
)
SELECT code FROM ins UNION ALL SELECT code FROM tracking_codes WHERE case_id = $2 LIMIT 1`;

/**
 * The case's tracking code: a new random one, or the one it already has (a repeated,
 * idempotent intake gets the same code). Any case type, by id and type.
 */
export async function issueTrackingCode(pool: Pool, caseId: string, caseType: string): Promise<string> {
  // A lost race with a concurrent intake of the same case, or (60 random bits) a code taken
  // already, leaves both halves empty for this statement's snapshot: try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const { rows } = await pool.query<{ code: string }>(ISSUE_SQL, [newTrackingCode(), caseId, caseType]);
    if (rows[0]) return rows[0].code;
  }
  throw new Error(`could not issue a tracking code for case ${caseId}`);
}

/** Codes for many cases at once (an import): cases that have a code keep it, the others get one in one statement. */
export async function issueTrackingCodes(pool: Pool, caseIds: string[], caseType: string): Promise<Map<string, string>> {
  const codes = new Map<string, string>();
  const found = async (ids: string[]) => {
    const { rows } = await pool.query<{ case_id: string; code: string }>(
      'SELECT case_id, code FROM tracking_codes WHERE case_id = ANY ($1::text[])', [ids]);
    for (const r of rows) codes.set(r.case_id, r.code);
  };
  await found(caseIds);
  for (let attempt = 0; attempt < 5 && codes.size < caseIds.length; attempt++) {
    const missing = caseIds.filter((id) => !codes.has(id));
    await pool.query(
      `INSERT INTO tracking_codes (code, case_id, case_type)
       SELECT t.code, t.case_id, $3::text FROM unnest($1::text[], $2::text[]) AS t(code, case_id)
       ON CONFLICT DO NOTHING`, [missing.map(() => newTrackingCode()), missing, caseType]);
    await found(missing);
  }
  return codes;
}

export interface TrackedCase {
  caseId: string;
  caseType: string;
  codeIssuedAt: Date;
  /** Null until the worker has written the case's first snapshot. */
  status: string | null;
  partnerName: string | null;
  steps: { type: string; at: Date }[];
  /** Open deadlines, soonest first. */
  deadlines: { kind: string; dueAt: Date }[];
}

export async function trackedCase(pool: Pool, code: string): Promise<TrackedCase | null> {
  const { rows } = await pool.query(
    `SELECT t.case_id, t.case_type, t.created_at, c.status, p.name AS partner_name,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('type', e.type, 'at', e.at) ORDER BY e.seq), '[]')
          FROM case_events e WHERE e.case_id = t.case_id) AS steps,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', d.kind, 'dueAt', d.due_at) ORDER BY d.due_at), '[]')
          FROM case_deadlines d WHERE d.case_id = t.case_id) AS deadlines
     FROM tracking_codes t
     LEFT JOIN cases c ON c.id = t.case_id
     LEFT JOIN partners p ON p.id = c.partner_id
     WHERE t.code = $1`, [code]);
  const r = rows[0];
  if (!r) return null;
  return {
    caseId: r.case_id, caseType: r.case_type, codeIssuedAt: r.created_at, status: r.status, partnerName: r.partner_name,
    steps: (r.steps as { type: string; at: string }[]).map((s) => ({ type: s.type, at: new Date(s.at) })),
    deadlines: (r.deadlines as { kind: string; dueAt: string }[]).map((d) => ({ kind: d.kind, dueAt: new Date(d.dueAt) })),
  };
}
