import type { Pool } from 'pg';
import type { SlaPolicy } from '../domain/sla';

export async function loadSlaPolicies(pool: Pool): Promise<SlaPolicy[]> {
  const { rows } = await pool.query<{ case_type: string; category: string; urgency: string; durations: Record<string, string | number> }>(
    'SELECT case_type, category, urgency, durations FROM sla_policies ORDER BY case_type, category, urgency');
  return rows.map((r) => ({
    caseType: r.case_type as SlaPolicy['caseType'],
    ...(r.category ? { category: r.category as SlaPolicy['category'] } : {}),
    ...(r.urgency ? { urgency: r.urgency as SlaPolicy['urgency'] } : {}),
    ...r.durations,
  }));
}

/** Insert or replace the policy for (case type, category, urgency). */
export async function saveSlaPolicy(pool: Pool, policy: SlaPolicy): Promise<void> {
  const { caseType, category, urgency, ...durations } = policy;
  await pool.query(
    `INSERT INTO sla_policies (case_type, category, urgency, durations) VALUES ($1, $2, $3, $4)
     ON CONFLICT (case_type, category, urgency) DO UPDATE SET durations = EXCLUDED.durations, updated_at = now()`,
    [caseType, category ?? '', urgency ?? '', JSON.stringify(durations)]);
}
