/**
 * Read-model queries behind Open311's GET requests and servicerequestupdates: service
 * requests only, and only what may be public (no resident, description or note; the
 * compound is the one field taken out of the details).
 */
import type { Pool } from 'pg';

export interface PublicRequestRow {
  id: string; status: string; category: string; community: string | null; compound: string | null;
  partnerName: string | null; createdAt: Date; updatedAt: Date; closedAt: Date | null; expected: Date | null;
}

export interface RequestFilter { ids?: string[]; codes?: string[]; from?: string; to?: string; statuses?: string[]; limit: number }

const CLOSED = ['closed', 'cancelled'];

export async function publicRequests(pool: Pool, f: RequestFilter): Promise<PublicRequestRow[]> {
  const where = [`c.type = 'service_request'`];
  const values: unknown[] = [];
  const add = (sql: string, v: unknown) => { values.push(v); where.push(sql.replace('?', `$${values.length}`)); };
  if (f.ids) add('c.id = ANY (?::text[])', f.ids);
  if (f.codes) add('c.category = ANY (?::text[])', f.codes);
  if (f.from) add('c.created_at >= ?::timestamptz', f.from);
  if (f.to) add('c.created_at <= ?::timestamptz', f.to);
  if (f.statuses?.length === 1) add(f.statuses[0] === 'closed' ? 'c.status = ANY (?::text[])' : 'NOT (c.status = ANY (?::text[]))', CLOSED);
  values.push(f.limit);
  const { rows } = await pool.query(
    `SELECT c.id, c.status, c.category, c.community, c.details #>> '{resident,compound}' AS compound, p.name AS partner_name,
       c.created_at, c.updated_at, c.closed_at,
       (SELECT min(d.due_at) FROM case_deadlines d WHERE d.case_id = c.id) AS expected
     FROM cases c LEFT JOIN partners p ON p.id = c.partner_id
     WHERE ${where.join(' AND ')} ORDER BY c.created_at DESC, c.id DESC LIMIT $${values.length}`, values);
  return rows.map((r) => ({
    id: r.id, status: r.status, category: r.category, community: r.community, compound: r.compound, partnerName: r.partner_name,
    createdAt: r.created_at, updatedAt: r.updated_at, closedAt: r.closed_at, expected: r.expected,
  }));
}

export const isClosedStatus = (status: string) => CLOSED.includes(status);

/** Timeline events of the given types in a window, oldest first: the updates FixMyStreet-style clients poll. */
export async function requestUpdates(pool: Pool, types: string[], from: string, to: string, limit: number) {
  const { rows } = await pool.query(
    `SELECT e.case_id, e.seq, e.type, e.at FROM case_events e JOIN cases c ON c.id = e.case_id AND c.type = 'service_request'
     WHERE e.at >= $1::timestamptz AND e.at <= $2::timestamptz AND e.type = ANY ($3::text[])
     ORDER BY e.at, e.case_id, e.seq LIMIT $4`, [from, to, types, limit]);
  return rows.map((r) => ({ caseId: r.case_id as string, seq: r.seq as number, type: r.type as string, at: r.at as Date }));
}
