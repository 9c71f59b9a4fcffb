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

/** Migrate, then seed unless the bench rows are already there (BENCH_RESEED=1 forces it). Returns seconds spent seeding. */
export async function prepareBenchData(pool: Pool, log: (line: string) => void, opts: SeedOptions = DEFAULT_SEED): Promise<number> {
  await migrate(pool);
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE id LIKE $1 || '%'`, [BENCH_PREFIX]);
  if (rows[0].n === opts.cases && process.env.BENCH_RESEED !== '1') {
    log(`reusing ${rows[0].n} seeded cases (BENCH_RESEED=1 to seed again)`);
    return 0;
  }
  const started = Date.now();
  await seedSupervisionData(pool, opts, log);
  const seconds = (Date.now() - started) / 1000;
  log(`seeded ${opts.cases} cases, ${opts.cases * opts.eventsPerCase} events in ${seconds.toFixed(1)} s (goal for 1M cases: under 600 s)`);
  return seconds;
}
