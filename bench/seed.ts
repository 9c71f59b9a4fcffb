/**
 * Seed the read model at city scale directly in Postgres with COPY (pg-copy-streams): by
 * default 100k cases with 10 timeline events each; `BENCH_CASES=1000000` gives the city
 * (1M cases, 10M events). Also a delivery attempt per case and an open deadline for each
 * open case that has a timer running, then the report rollups (migration 070) rebuilt.
 *
 * The spread is a street office over 3 years: volume growing over time, intake in office
 * hours (Beijing time), cases older than two months almost all closed, the open ones recent;
 * 50 communities, 200 partners each serving mostly its own community. A seeded PRNG makes
 * the data repeatable. The secondary indexes and the rollup trigger are dropped for the
 * load and rebuilt after it (one sort each instead of a million index inserts).
 *
 * Shapes follow what the workflows write (src/workflows/serviceRequest.ts snapshot()):
 * milestones, `details.completion.hoursSpent`, `details.fulfilmentBreached`, and for
 * registrations `details.timeToCertificateMs`, `sameDay`, `withinCompletionTarget`.
 * Case types come from CASE_PROFILES: a care plan profile is one more entry there.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { rebuildReportRollups } from '../src/db/reportRollups';

export interface SeedOptions {
  cases: number;
  eventsPerCase: number;
  communities: number;
  partners: number;
}

export const DEFAULT_SEED: SeedOptions = {
  cases: Number(process.env.BENCH_CASES ?? 100_000),
  eventsPerCase: Number(process.env.BENCH_EVENTS_PER_CASE ?? 10),
  communities: 50,
  partners: 200,
};

/** Every bench case id starts with this, so a re-seed replaces only bench rows. */
export const BENCH_PREFIX = 'bench-';
export const benchCaseId = (n: number) => `${BENCH_PREFIX}${String(n).padStart(7, '0')}`;

/** One case type of the seed: its share of the cases, categories and open statuses. */
export interface CaseProfile {
  type: string;
  workflowPrefix: string;
  share: number;
  categories: string[];
  open: string[];
  /** Closed without resolution. */
  abandoned: string;
  /** Gets a partner assigned (service requests). */
  partnered: boolean;
  details(r: Random, stage: number): Record<string, unknown>;
}

type Random = () => number;

// Add a care plan profile here (share out of 1 across the entries) once that type exists.
export const CASE_PROFILES: CaseProfile[] = [
  {
    type: 'service_request', workflowPrefix: 'service-request:', share: 0.8, abandoned: 'cancelled', partnered: true,
    categories: ['clothing', 'food', 'housing', 'transport', 'daily_goods', 'medical', 'culture', 'employment', 'hardship'],
    open: ['dispatching', 'awaiting_ack', 'in_progress', 'escalated', 'awaiting_follow_up', 'awaiting_survey'],
    details: (r, stage) => ({
      completion: stage >= 2 ? { hoursSpent: Math.round(r() * 60) / 10 } : null, fulfilmentBreached: r() < 0.1,
    }),
  },
  {
    type: 'registration', workflowPrefix: 'registration:', share: 0.2, abandoned: 'withdrawn', partnered: false,
    categories: ['transfer', 'mortgage', 'first_registration', 'change', 'cancellation'],
    open: ['awaiting_documents', 'in_review', 'issuing', 'awaiting_delivery', 'awaiting_survey'],
    details: (r) => {
      const ttc = Math.round(600_000 + r() * 3 * 3_600_000);
      return { timeToCertificateMs: ttc, completionTargetMs: 1_200_000, withinCompletionTarget: ttc <= 1_200_000, sameDay: ttc < 8 * 3_600_000 };
    },
  },
];

/** The deadline an open case of each status has running (escalated and dispatching have none). */
const DEADLINE_OF: Record<string, string> = {
  awaiting_ack: 'ack', in_progress: 'fulfilment', awaiting_follow_up: 'follow_up', awaiting_survey: 'survey',
  awaiting_documents: 'supplement', in_review: 'review',
};
/** Milestones an open status has reached: 0 none, 1 acknowledged, 2 completed. */
const STAGE_OF: Record<string, number> = { in_progress: 1, in_review: 1, awaiting_follow_up: 2, issuing: 2, awaiting_delivery: 2, awaiting_survey: 2 };
const EVENT_TYPES = ['intake', 'dispatched', 'notification_delivered', 'accepted', 'progress', 'completed', 'follow_up', 'survey', 'closed', 'note'];
const YEARS = 3;
const DAY = 86_400_000;

function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const iso = (ms: number | null) => (ms === null ? '\\N' : new Date(ms).toISOString());
const text = (v: string | number | boolean | null) => (v === null ? '\\N' : String(v));
/** COPY text format: jsonb has no tabs or newlines here; backslashes are doubled. */
const json = (v: unknown) => JSON.stringify(v).replace(/\\/g, '\\\\');
const pick = <T>(r: Random, xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
const communityName = (c: number) => `社区-${String(c + 1).padStart(2, '0')}`;

interface Rows { cases: string[]; events: string[]; deadlines: string[]; attempts: string[] }

/** The rows of case n (1-based), drawn from its own PRNG so each table's stream sees the same case. */
function caseRows(n: number, opts: SeedOptions, now: number, out: Rows, only: keyof Rows): void {
  const r = mulberry32(n * 2_654_435_761);
  let u = r();
  const profile = CASE_PROFILES.find((p) => (u -= p.share) < 0) ?? CASE_PROFILES[0];
  // growing volume: the density of the creation day rises linearly to twice its start (inverse CDF)
  const t = -1 + Math.sqrt(1 + 3 * r());
  const day = Math.min(YEARS * 365, Math.floor(t * YEARS * 365));
  // office hours in Beijing (08:00-20:00 = 00:00-12:00 UTC)
  const created = Math.min(now - 120_000, Math.floor(now / DAY) * DAY - (YEARS * 365 - day) * DAY + Math.floor(r() * 12 * 3_600_000));
  const age = (now - created) / DAY;
  const closedShare = Math.min(0.93, 0.15 + (age / 60) * 0.78);
  const v = r();
  const status = v < closedShare ? 'closed' : v < closedShare + 0.05 ? profile.abandoned : pick(r, profile.open);
  const stage = status === 'closed' ? 3 : status === profile.abandoned ? 0 : (STAGE_OF[status] ?? 0);
  const clamp = (ms: number) => Math.min(ms, now - 60_000);
  const ack = stage >= 1 ? clamp(created + r() * 4 * 3_600_000) : null;
  const done = stage >= 2 ? clamp(Math.max(ack ?? created, created + 3_600_000 + r() * 3 * DAY)) : null;
  const closed = stage >= 3 ? clamp(done! + r() * 7 * DAY) : status === profile.abandoned ? clamp(created + 2 * 3_600_000) : null;
  const c = Math.floor(r() * opts.communities);
  const perCommunity = Math.max(1, Math.floor(opts.partners / opts.communities));
  // mostly one of the community's own partners, sometimes a neighbour's
  const home = r() < 0.9 ? c : (c + 1) % opts.communities;
  const partner = profile.partnered && !['dispatching', 'escalated', profile.abandoned].includes(status)
    ? `bench-partner-${1 + ((home + opts.communities * Math.floor(r() * perCommunity)) % opts.partners)}` : null;
  const satisfaction = status === 'closed' && r() < 0.7 ? 1 + Math.floor(r() * 5) : null;
  const outcome = status === 'closed' ? (satisfaction === null ? 'no_response' : 'satisfied') : null;
  const kind = DEADLINE_OF[status];
  const due = kind ? now + (r() * 5 - 1) * DAY : null;
  const id = benchCaseId(n);
  const workflowId = `${profile.workflowPrefix}${id}`;
  if (only === 'cases') out.cases.push([
    id, profile.type, workflowId, status, pick(r, profile.categories), profile.partnered ? (r() < 0.2 ? 'urgent' : 'normal') : null,
    communityName(c), partner, stage >= 1 && stage <= 2 && r() < 0.08, profile.partnered && r() < 0.04 ? 1 : 0,
    profile.partnered ? 1 + Math.floor(r() * 2) : 0,
  ].map(text).join('\t') + `\t${json(kind ? { [kind]: new Date(due!).toISOString() } : {})}\t${json(profile.details(r, stage))}\t${text(satisfaction)}\t${text(outcome)}\t${iso(created)}\t${iso(ack)}\t${iso(done)}\t${iso(closed)}\t${opts.eventsPerCase}\t${iso(now)}`);
  if (kind && only === 'deadlines') out.deadlines.push(`${id}\t${kind}\t${iso(due)}\t${communityName(c)}`);
  if (only === 'attempts') out.attempts.push(`${workflowId}:1\t1\t${id}\t${partner ?? 'bench-partner-1'}\torder.dispatched\t${iso(created + 1_200_000)}\t200`);
  if (only !== 'events') return;
  const end = closed ?? done ?? ack ?? created + 3_600_000;
  for (let s = 1; s <= opts.eventsPerCase; s++) {
    const at = created + ((end - created) * (s - 1)) / Math.max(1, opts.eventsPerCase - 1);
    const data = s === 3 ? { event: 'order.dispatched', deliveryId: `${workflowId}:1`, partnerId: partner } : { note: `step ${s}` };
    out.events.push(`${id}\t${s}\t${iso(at)}\t${EVENT_TYPES[(s - 1) % EVENT_TYPES.length]}\t${s === 1 ? 'staff:bench' : 'system'}\t${json(data)}`);
  }
}

const COPY_SQL: Record<keyof Rows, string> = {
  cases: `COPY cases (id, type, workflow_id, status, category, urgency, community, partner_id, overdue, reopen_count, dispatch_attempts,
    deadlines, details, satisfaction, outcome, created_at, acknowledged_at, completed_at, closed_at, last_seq, updated_at) FROM STDIN`,
  events: 'COPY case_events (case_id, seq, at, type, actor, data) FROM STDIN',
  deadlines: 'COPY case_deadlines (case_id, kind, due_at, community) FROM STDIN',
  attempts: 'COPY webhook_attempts (delivery_id, attempt, case_id, partner_id, event, at, http_status) FROM STDIN',
};
const TABLES = ['cases', 'case_events', 'case_deadlines', 'webhook_attempts'];

/** Stream one table's rows, 2,000 cases per chunk, through COPY. */
async function copyTable(client: PoolClient, table: keyof Rows, opts: SeedOptions, now: number): Promise<void> {
  async function* chunks() {
    for (let start = 1; start <= opts.cases; start += 2000) {
      const rows: Rows = { cases: [], events: [], deadlines: [], attempts: [] };
      for (let n = start; n < Math.min(opts.cases + 1, start + 2000); n++) caseRows(n, opts, now, rows, table);
      if (rows[table].length) yield `${rows[table].join('\n')}\n`;
    }
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(COPY_SQL[table])));
}

export async function seedSupervisionData(pool: Pool, opts: SeedOptions = DEFAULT_SEED, log: (line: string) => void = () => undefined): Promise<void> {
  const client = await pool.connect();
  const step = async (what: string, run: () => Promise<unknown>) => {
    const t0 = Date.now();
    await run();
    log(`  seed: ${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  try {
    await client.query('SET synchronous_commit = off');
    const { rows: foreign } = await client.query(`SELECT 1 FROM cases WHERE id NOT LIKE $1 || '%' LIMIT 1`, [BENCH_PREFIX]);
    await step('clear', async () => {
      if (foreign.length === 0) await client.query(`TRUNCATE ${TABLES.join(', ')}`);
      else for (const [table, col] of [['case_deadlines', 'case_id'], ['case_events', 'case_id'], ['webhook_attempts', 'case_id'], ['cases', 'id']]) {
        await client.query(`DELETE FROM ${table} WHERE ${col} LIKE $1 || '%'`, [BENCH_PREFIX]);
      }
    });
    // Secondary indexes (not those of constraints) come back after the load.
    const { rows: indexes } = await client.query<{ name: string; def: string }>(
      `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY ($1)
       AND indexname NOT IN (SELECT conname FROM pg_constraint)`, [TABLES]);
    await client.query('ALTER TABLE cases DISABLE TRIGGER cases_report_rollup');
    try {
      for (const ix of indexes) await client.query(`DROP INDEX ${client.escapeIdentifier(ix.name)}`);
      const now = Date.now();
      for (const table of ['cases', 'events', 'deadlines', 'attempts'] as const) await step(`COPY ${table}`, () => copyTable(client, table, opts, now));
    } finally {
      await step(`${indexes.length} indexes`, async () => {
        await client.query('SET maintenance_work_mem = \'512MB\'');
        for (const ix of indexes) await client.query(ix.def);
      });
      await client.query('ALTER TABLE cases ENABLE TRIGGER cases_report_rollup');
    }
  } finally {
    client.release();
  }
  await step('report rollups', () => rebuildReportRollups(pool));
  // VACUUM as autovacuum would on a settled table: statistics, and a visibility map for index-only scans.
  await step('vacuum analyze', async () => {
    for (const table of [...TABLES, 'report_rollup', 'report_histogram', 'report_histogram_total']) await pool.query(`VACUUM (ANALYZE) ${table}`);
  });
}
