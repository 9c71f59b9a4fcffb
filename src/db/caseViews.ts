/**
 * Read-model queries behind `GET /v1/cases` and `GET /v1/cases/{id}/history`.
 * Lists are keyset-paginated on (created_at, id): the cursor carries the exact
 * microsecond timestamp, so no row is skipped or repeated between pages.
 */
import type { Pool } from 'pg';
import type { CaseRowFields } from '../domain/caseEvents';

export interface CaseListFilter {
  type?: string;
  status?: string;
  category?: string;
  partnerId?: string;
  community?: string;
  overdue?: boolean;
  /** created_at >= from (inclusive) and < to (exclusive), ISO 8601. */
  from?: string;
  to?: string;
  /** The communities of a scoped key; null = every community. */
  scope: string[] | null;
  after: { createdAt: string; id: string } | null;
  limit: number;
}

export interface CaseSummary extends CaseRowFields {
  id: string;
  type: string;
  deadlines: Record<string, string>;
}

/** Microsecond-exact UTC text of a timestamptz: cursors round-trip it without loss. */
export const exactTimestamp = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * A key limited to up to this many communities (and no `community` filter) has its list read
 * one community at a time: each community's newest page straight off
 * `cases_community_created_idx`, merged. Walking the newest cases of every community and
 * discarding the others costs a page times the share of the cases outside the scope (two of
 * 50 communities: 1,400 rows read for a 51-row page, docs/supervision.md); this costs a page
 * per community, so it is the better walk only while the communities are few.
 */
export const SCOPE_PER_COMMUNITY_MAX = 8;

/** Cases newest first; `cursor` is the sort key of the page's last row when another page follows. */
export async function listCases(pool: Pool, f: CaseListFilter): Promise<{ items: CaseSummary[]; cursor: { createdAt: string; id: string } | null }> {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, ...vs: unknown[]) => {
    let i = values.length;
    values.push(...vs);
    where.push(sql.replace(/\?/g, () => `$${++i}`));
  };
  if (f.type) add('type = ?', f.type);
  if (f.status) add('status = ?', f.status);
  if (f.category) add('category = ?', f.category);
  if (f.partnerId) add('partner_id = ?', f.partnerId);
  if (f.community) add('community = ?', f.community);
  if (f.overdue !== undefined) add('overdue = ?', f.overdue);
  if (f.from) add('created_at >= ?::timestamptz', f.from);
  if (f.to) add('created_at < ?::timestamptz', f.to);
  const perCommunity = f.scope !== null && f.community === undefined && f.scope.length <= SCOPE_PER_COMMUNITY_MAX;
  if (f.scope && !perCommunity) add('community = ANY (?::text[])', f.scope);
  if (f.after) add('(created_at, id) < (?::timestamptz, ?)', f.after.createdAt, f.after.id);
  const columns = `id, type, status, category, urgency, community, partner_id, overdue, reopen_count, dispatch_attempts, deadlines,
       created_at, ${exactTimestamp('created_at')} AS created_exact, acknowledged_at, completed_at, closed_at, outcome, satisfaction`;
  let sql: string;
  if (perCommunity) {
    // The same rows as `community = ANY (scope)`: the newest limit + 1 of each community of
    // the scope (DISTINCT: a community named twice is read once), then the newest of those.
    values.push(f.scope);
    const scopeParam = values.length;
    values.push(f.limit + 1);
    where.unshift('cases.community = k.scope_community');
    sql = `SELECT c.* FROM (SELECT DISTINCT unnest($${scopeParam}::text[]) AS scope_community) k
       CROSS JOIN LATERAL (SELECT ${columns} FROM cases WHERE ${where.join(' AND ')}
         ORDER BY created_at DESC, id DESC LIMIT $${values.length}) c
     ORDER BY c.created_at DESC, c.id DESC LIMIT $${values.length}`;
  } else {
    values.push(f.limit + 1);
    sql = `SELECT ${columns}
     FROM cases ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, id DESC LIMIT $${values.length}`;
  }
  const { rows } = await pool.query(sql, values);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      id: r.id, type: r.type, status: r.status, category: r.category, urgency: r.urgency, community: r.community,
      partnerId: r.partner_id, overdue: r.overdue, reopenCount: r.reopen_count, dispatchAttempts: r.dispatch_attempts,
      deadlines: r.deadlines, createdAt: r.created_at.toISOString(), acknowledgedAt: iso(r.acknowledged_at),
      completedAt: iso(r.completed_at), closedAt: iso(r.closed_at), outcome: r.outcome, satisfaction: r.satisfaction,
    })),
    cursor: rows.length > f.limit && last ? { createdAt: last.created_exact, id: last.id } : null,
  };
}

export interface TimelineEntry {
  seq: number;
  at: string;
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

/** The community of a case (for scope checks), or undefined when the case is unknown. */
export async function caseCommunity(pool: Pool, caseId: string): Promise<{ community: string | null } | undefined> {
  const { rows } = await pool.query<{ community: string | null }>('SELECT community FROM cases WHERE id = $1', [caseId]);
  return rows[0];
}

/**
 * The business timeline, oldest first. A notification event carries its delivery id; each
 * attempt of that delivery (status or error, time) is attached as `attemptLog`.
 */
export async function caseTimeline(pool: Pool, caseId: string): Promise<TimelineEntry[]> {
  const { rows } = await pool.query(
    `SELECT e.seq, e.at, e.type, e.actor,
       CASE WHEN e.data ? 'deliveryId' THEN e.data || jsonb_build_object('attemptLog', coalesce((
         SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('attempt', a.attempt, 'at', a.at, 'outcome', a.outcome)) || jsonb_build_object('httpStatus', a.http_status, 'error', a.error) ORDER BY a.attempt)
         FROM webhook_attempts a WHERE a.delivery_id = e.data->>'deliveryId'), '[]'::jsonb))
       ELSE e.data END AS data
     FROM case_events e WHERE e.case_id = $1 ORDER BY e.seq`, [caseId]);
  return rows.map((r) => ({ seq: r.seq, at: r.at.toISOString(), type: r.type, actor: r.actor, data: r.data }));
}
