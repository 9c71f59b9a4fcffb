/** The benchmark's own database on the local Postgres server: created when missing, migrated, seeded once. */
import { Client } from 'pg';
import { migrate } from '../src/db/migrate';
import type { Pool } from '../src/db/pool';
import { BENCH_PREFIX, DEFAULT_SEED, type SeedOptions, seedSupervisionData } from './seed';

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/gongjian_bench';

export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/** How long the seed took that filled this database, and when (null: seeded before the database kept it). */
export interface SeedRecord { seconds: number; at: Date; reused: boolean }

/**
 * Migrate, then seed unless the bench rows are already there (BENCH_RESEED=1 forces it). The
 * seed's duration is kept in the bench database (`bench_seed_runs`, not part of the schema), so
 * a run that reuses the data still reports how long seeding it took, and when.
 */
export async function prepareBenchData(pool: Pool, log: (line: string) => void, opts: SeedOptions = DEFAULT_SEED): Promise<SeedRecord | null> {
  await migrate(pool);
  await pool.query('CREATE TABLE IF NOT EXISTS bench_seed_runs (cases int NOT NULL, seconds double precision NOT NULL, at timestamptz NOT NULL DEFAULT now())');
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE id LIKE $1 || '%'`, [BENCH_PREFIX]);
  if (rows[0].n === opts.cases && process.env.BENCH_RESEED !== '1') {
    const { rows: runs } = await pool.query<{ seconds: number; at: Date }>(
      'SELECT seconds, at FROM bench_seed_runs WHERE cases = $1 ORDER BY at DESC LIMIT 1', [opts.cases]);
    log(`reusing ${rows[0].n} seeded cases (BENCH_RESEED=1 to seed again)${runs[0] ? `, seeded in ${runs[0].seconds.toFixed(1)} s at ${runs[0].at.toISOString()}` : ''}`);
    return runs[0] ? { ...runs[0], reused: true } : null;
  }
  const started = Date.now();
  await seedSupervisionData(pool, opts, log);
  const seconds = (Date.now() - started) / 1000;
  await pool.query('INSERT INTO bench_seed_runs (cases, seconds) VALUES ($1, $2)', [opts.cases, seconds]);
  log(`seeded ${opts.cases} cases, ${opts.cases * opts.eventsPerCase} events in ${seconds.toFixed(1)} s (goal for 1M cases: under 600 s)`);
  return { seconds, at: new Date(), reused: false };
}
