/**
 * `GET /v1/timeouts`: the open deadlines of open cases that fall due within a window or
 * have already passed, soonest first. Keyset-paginated on (due_at, case_id, kind), which
 * is also the index the scan walks (migration 003), so a page costs one index range;
 * community filters use the deadline's own copy of the case's community. A key limited to a
 * few communities reads each community's page off `case_deadlines (community, due_at, …)` and
 * merges them, rather than walking every community's deadlines and discarding the others'.
 *
 * The case of each deadline is read by a LATERAL lookup on its primary key (`OFFSET 0` keeps
 * the planner from flattening it into a join): the scan walks the deadline index in order and
 * stops after one page. As a plain join the planner hashed a sequential scan of every open
 * case instead (36 ms against 3 ms at 100k cases for a 200-row page; docs/supervision.md).
 */
import type { Pool } from 'pg';
import { TERMINAL_CASE_STATUSES } from '../domain/supervision';
import { exactTimestamp, SCOPE_PER_COMMUNITY_MAX } from './caseViews';

export interface TimeoutFilter {
  withinMs: number;
  type?: string;
  kind?: string;
  community?: string;
  partnerId?: string;
  scope: string[] | null;
  after: { dueAt: string; caseId: string; kind: string } | null;
  limit: number;
}

export interface OpenDeadline {
  caseId: string;
  caseType: string;
  kind: string;
  dueAt: string;
  breached: boolean;
  status: string;
  community: string | null;
  partnerId: string | null;
}

export async function listOpenDeadlines(pool: Pool, f: TimeoutFilter): Promise<{ items: OpenDeadline[]; cursor: TimeoutFilter['after'] }> {
  const values: unknown[] = [f.withinMs, TERMINAL_CASE_STATUSES];
  const where = ['d.due_at <= now() + $1::double precision * interval \'1 millisecond\''];
  const caseWhere = ['c.id = d.case_id', 'c.status <> ALL ($2::text[])'];
  const bind = (into: string[], sql: string, ...vs: unknown[]) => {
    let i = values.length;
    values.push(...vs);
    into.push(sql.replace(/\?/g, () => `$${++i}`));
  };
  const add = (sql: string, ...vs: unknown[]) => bind(where, sql, ...vs);
  if (f.type) bind(caseWhere, 'c.type = ?', f.type);
  if (f.kind) add('d.kind = ?', f.kind);
  if (f.community) add('d.community = ?', f.community);
  if (f.partnerId) bind(caseWhere, 'c.partner_id = ?', f.partnerId);
  // A key limited to a few communities: each community's soonest page, merged (as for the case list, src/db/caseViews.ts).
  const perCommunity = f.scope !== null && f.community === undefined && f.scope.length <= SCOPE_PER_COMMUNITY_MAX;
  if (f.scope && !perCommunity) add('d.community = ANY (?::text[])', f.scope);
  if (f.after) add('(d.due_at, d.case_id, d.kind) > (?::timestamptz, ?, ?)', f.after.dueAt, f.after.caseId, f.after.kind);
  let scopeParam = 0;
  if (perCommunity) {
    values.push(f.scope);
    scopeParam = values.length;
    where.unshift('d.community = k.scope_community');
  }
  values.push(f.limit + 1);
  const pageSql = `SELECT d.case_id, c.type, d.kind, d.due_at, ${exactTimestamp('d.due_at')} AS due_exact, d.due_at <= now() AS breached,
       c.status, c.community, c.partner_id
     FROM case_deadlines d
     CROSS JOIN LATERAL (SELECT c.type, c.status, c.community, c.partner_id FROM cases c WHERE ${caseWhere.join(' AND ')} OFFSET 0) c
     WHERE ${where.join(' AND ')}
     ORDER BY d.due_at, d.case_id, d.kind LIMIT $${values.length}`;
  // The same rows as `d.community = ANY (scope)`: the soonest limit + 1 of each community of the
  // scope (DISTINCT: a community named twice is read once), then the soonest of those.
  const { rows } = await pool.query(perCommunity
    ? `SELECT x.* FROM (SELECT DISTINCT unnest($${scopeParam}::text[]) AS scope_community) k CROSS JOIN LATERAL (${pageSql}) x
     ORDER BY x.due_at, x.case_id, x.kind LIMIT $${values.length}`
    : pageSql, values);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      caseId: r.case_id, caseType: r.type, kind: r.kind, dueAt: r.due_at.toISOString(), breached: r.breached,
      status: r.status, community: r.community, partnerId: r.partner_id,
    })),
    cursor: rows.length > f.limit && last ? { dueAt: last.due_exact, caseId: last.case_id, kind: last.kind } : null,
  };
}
