/**
 * `npm run retention`: remove personal data from the read model for cases closed longer
 * ago than RETENTION_AFTER (default P365D), keeping the figures. Run it daily (cron, a
 * Kubernetes CronJob, `docker compose run --rm api node dist/retention.js`).
 * See docs/deployment.md.
 *
 *   npm run retention -- [--dry-run] [--after P365D]
 *
 * Exit status: 0 done, 1 on a configuration or connection error.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import { migrate } from './db/migrate';
import { createPool } from './db/pool';
import { parseIsoDuration } from './domain/duration';
import { runRetention } from './retention/retention';

const USAGE = 'usage: npm run retention -- [--dry-run] [--after P365D]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { 'dry-run': { type: 'boolean', default: false }, after: { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  const afterMs = values.after === undefined ? config.retentionAfterMs : parseIsoDuration(values.after);
  if (!afterMs) throw new ConfigError(`--after must be an ISO 8601 duration such as P365D, not ${values.after}`);
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set: set it to the postgres:// URL of the read model.');
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    await migrate(pool);
    const summary = await runRetention({ pool, retentionAfterMs: afterMs, dryRun: values['dry-run'], log: (line) => console.error(line) });
    console.log(values['dry-run']
      ? `${summary.cases} case(s) closed before ${summary.cutoff} still hold personal data (${summary.events} event(s)); nothing changed`
      : `removed personal data from ${summary.cases} case(s) closed before ${summary.cutoff} (${summary.events} event(s))`);
    return 0;
  } finally {
    await pool.end();
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(err instanceof ConfigError ? err.message : `retention failed: ${(err as Error).message}\n${USAGE}`);
    process.exit(1);
  });
}
