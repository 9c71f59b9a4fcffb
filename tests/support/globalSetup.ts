/**
 * Once per jest run: the real services the integration tests use.
 * - Temporal: the CLI dev server (in memory, a free port, the case search attributes).
 * - Postgres: DATABASE_URL when set (CI points it at a fresh database on the local
 *   server), else an embedded PGlite; migrations applied.
 * - The workflow bundle, built once and shared by every worker in the run.
 * - The time-skipping test server's path, for workflow timer tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { startEmbeddedPostgres } from '../../src/dev/embeddedPostgres';
import { startTemporalDevServer } from '../../src/dev/temporalDevServer';
import { resolveTemporalCli, resolveTemporalTestServer } from '../../src/dev/tools';
import { CASE_SEARCH_ATTRIBUTES } from '../../src/domain/searchAttributes';

const root = resolve(__dirname, '../..');

export default async function globalSetup(): Promise<void> {
  const log = (msg: string) => process.stderr.write(`[test services] ${msg}\n`);
  const [cliPath, testServerPath] = await Promise.all([
    resolveTemporalCli({ projectRoot: root, log }),
    resolveTemporalTestServer({ projectRoot: root, log }),
  ]);
  const tmp = mkdtempSync(join(tmpdir(), 'gongjian-test-'));

  // The console's bundle (served by every test API) and Debian's Chromium for the browser tests.
  const { buildConsole } = require('../../scripts/build-console') as { buildConsole(o: { quiet: boolean }): Promise<unknown> };
  const consoleBuilt = buildConsole({ quiet: true });
  const { ensureBrowser } = require('../../scripts/ensure-browser') as { ensureBrowser(): number };
  if (ensureBrowser() !== 0) log('Chromium is missing and could not be installed: the browser tests will fail');
  const [temporal, postgres, bundle] = await Promise.all([
    startTemporalDevServer({
      cliPath, port: 0, uiPort: null, searchAttributes: { ...CASE_SEARCH_ATTRIBUTES },
      logFile: join(tmp, 'temporal.log'),
    }),
    process.env.DATABASE_URL ? Promise.resolve(null) : startEmbeddedPostgres({ maxConnections: 10 }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietLogger }),
  ]);

  await consoleBuilt;
  const databaseUrl = process.env.DATABASE_URL ?? postgres!.url;
  const pool = createPool(databaseUrl, 2);
  await migrate(pool);
  await pool.end();

  const bundlePath = join(tmp, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  process.env.DATABASE_URL = databaseUrl;
  process.env.TEST_DATABASE_KIND = postgres ? 'embedded' : 'server';
  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEMPORAL_TEST_SERVER_PATH = testServerPath;
  process.env.TEMPORAL_CLI_PATH = cliPath;
  log(`Temporal ${temporal.address}; Postgres ${postgres ? 'embedded' : 'from DATABASE_URL'}`);
  (globalThis as Record<string, unknown>).__gongjianServices = { temporal, postgres };
}

const quietLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (msg: string) => process.stderr.write(`${msg}\n`), error: (msg: string) => process.stderr.write(`${msg}\n`),
};
