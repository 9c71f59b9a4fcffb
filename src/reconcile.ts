/**
 * `npm run reconcile`: compare the read model with Temporal and repair drift (after an
 * outage, or after restoring Postgres from a backup). See docs/supervision.md.
 *
 *   npm run reconcile -- [--dry-run] [--closed-within P7D] [--community <name>] [--task-queue <name>] [--verbose]
 *   npm run reconcile -- --rewrite <caseId> [--rewrite <caseId> ...]
 *
 * `--rewrite` replaces the named cases' timelines with their current runs' histories (after
 * a workflow reset: src/reconciliation/rewriteTimeline.ts, docs/deployment.md).
 *   npm run reconcile -- --rebuild-rollups   (only: rebuild the report rollups from `cases` and the care-hours rollup from `care_plan_visits`; needs DATABASE_URL only)
 *
 * Exit status: 0 when everything checked is (now) in line, 2 when drift remains or
 * workflows could not be asked, 3 when Postgres refused a case's data (SQLSTATE class 22:
 * no retry can store it, it needs fixing by hand; wins over 2), 1 on a configuration or
 * connection error.
 */
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { type Config, ConfigError, loadConfig, requireServices } from './config';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { alignCertificateSequence } from './db/sequences';
import { rebuildCareHoursRollup } from './db/carePlans';
import { rebuildReportRollups } from './db/reportRollups';
import { parseIsoDuration } from './domain/duration';
import { reconcileReadModel, type ReconcileSummary } from './reconciliation/reconcileReadModel';
import { rewriteTimelineFromHistory } from './reconciliation/rewriteTimeline';
import { payloadCodecFor } from './temporal/codec';
import { connectClient } from './temporal/connection';

const USAGE = 'usage: npm run reconcile -- [--dry-run] [--closed-within P7D] [--community <name>] [--task-queue <name>] [--verbose]\n       npm run reconcile -- --rewrite <caseId> [--rewrite <caseId> ...]\n       npm run reconcile -- --rebuild-rollups';

function parseCli(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'closed-within': { type: 'string' },
      community: { type: 'string' },
      'task-queue': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      rewrite: { type: 'string', multiple: true },
      'rebuild-rollups': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const closedWithin = values['closed-within'];
  const closedWithinMs = closedWithin === undefined ? undefined : parseIsoDuration(closedWithin);
  if (closedWithinMs === null) throw new ConfigError(`--closed-within must be an ISO 8601 duration such as P7D, not ${closedWithin}`);
  return { ...values, closedWithinMs };
}

export function formatSummary(s: ReconcileSummary, verbose: boolean): string {
  const lines = [
    `checked ${s.checked}, in sync ${s.inSync}, drifted ${s.drifted}, repaired ${s.repaired}, unrepaired ${s.unrepaired}, busy ${s.busy}, unreachable ${s.unreachable}, rejected ${s.rejected}`,
  ];
  for (const c of s.cases) {
    if (c.outcome === 'in_sync' && !verbose) continue;
    lines.push(`  ${c.outcome.padEnd(11)} ${c.running ? 'running' : 'closed '} ${c.workflowId || c.caseId}${c.reasons.length ? `: ${c.reasons.join('; ')}` : ''}`);
  }
  return lines.join('\n');
}

export function exitStatus(s: ReconcileSummary, dryRun: boolean): number {
  if (s.rejected > 0) return 3;
  return s.unrepaired + s.unreachable + (dryRun ? s.drifted : 0) > 0 ? 2 : 0;
}

async function main(): Promise<number> {
  const args = parseCli(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const config: Config = loadConfig();
  if (args['rebuild-rollups']) return rebuildRollups(config);
  const { temporalAddress, databaseUrl } = requireServices(config);
  const pool = createPool(databaseUrl, 4);
  await migrate(pool); // a database restored from an older backup may lag behind the code's schema
  const { client, connection } = await connectClient(temporalAddress, config.TEMPORAL_NAMESPACE, payloadCodecFor(config), config.temporalSecurity);
  try {
    if (args.rewrite?.length) return await rewriteCases(client, pool, args.rewrite);
    const summary = await reconcileReadModel({
      client, pool, dryRun: args['dry-run'], closedWithinMs: args.closedWithinMs,
      community: args.community, taskQueue: args['task-queue'], log: (line) => console.error(line),
    });
    console.log(formatSummary(summary, args.verbose));
    // Cases rewritten from history may hold certificate numbers a restored database had lost.
    if (!args['dry-run']) await alignCertificateSequence(pool);
    return exitStatus(summary, args['dry-run']);
  } finally {
    await connection.close();
    await pool.end();
  }
}

async function rewriteCases(client: Client, pool: Pool, caseIds: string[]): Promise<number> {
  let failed = 0;
  for (const caseId of caseIds) {
    try {
      const r = await rewriteTimelineFromHistory({ client, pool }, caseId);
      console.log(`rewrote ${r.caseId} from ${r.workflowId} run ${r.runId}${r.running ? ' (running, resync signalled)' : ''}: ${r.removed} event(s) replaced by ${r.written}`);
    } catch (err) {
      failed++;
      console.error(`could not rewrite ${caseId}: ${(err as Error).message}`);
    }
  }
  await alignCertificateSequence(pool);
  return failed > 0 ? 2 : 0;
}

/** The report rollups (migration 070) from the cases table and the care-hours rollup (086) from the visits: after a restore, or a hand edit with the triggers off. */
async function rebuildRollups(config: Config): Promise<number> {
  if (!config.DATABASE_URL) throw new ConfigError('--rebuild-rollups needs DATABASE_URL');
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    await migrate(pool);
    const started = Date.now();
    const { rollupRows, histogramRows } = await rebuildReportRollups(pool);
    const care = await rebuildCareHoursRollup(pool);
    console.log(`rebuilt report rollups: ${rollupRows} rollup rows, ${histogramRows} histogram rows, ${care.rows} care-hours rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(err instanceof ConfigError ? err.message : `reconcile failed: ${(err as Error).message}\n${USAGE}`);
    process.exit(1);
  });
}
