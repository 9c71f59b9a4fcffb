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

/** How long intake may reuse the policies it read: a change made through another API process applies within this. */
const INTAKE_CACHE_MS = 1000;
const intakeCache = new WeakMap<Pool, { at: number; policies: Promise<SlaPolicy[]> }>();

/**
 * The policies for a case being opened. Every intake needs them and they change rarely, so
 * one read serves a second of intakes (one query fewer per case; see BENCHMARKS.md); a
 * change saved through this process applies at once.
 */
export function currentSlaPolicies(pool: Pool): Promise<SlaPolicy[]> {
  const cached = intakeCache.get(pool);
  if (cached && Date.now() - cached.at < INTAKE_CACHE_MS) return cached.policies;
  const policies = loadSlaPolicies(pool);
  intakeCache.set(pool, { at: Date.now(), policies });
  policies.catch(() => intakeCache.delete(pool));
  return policies;
}

/** Insert or replace the policy for (case type, category, urgency). */
export async function saveSlaPolicy(pool: Pool, policy: SlaPolicy): Promise<void> {
  const { caseType, category, urgency, ...durations } = policy;
  await pool.query(
    `INSERT INTO sla_policies (case_type, category, urgency, durations) VALUES ($1, $2, $3, $4)
     ON CONFLICT (case_type, category, urgency) DO UPDATE SET durations = EXCLUDED.durations, updated_at = now()`,
    [caseType, category ?? '', urgency ?? '', JSON.stringify(durations)]);
  intakeCache.delete(pool);
}
