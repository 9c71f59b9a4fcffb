#!/usr/bin/env node
'use strict';
/**
 * `npm run chaos`: fault injection against the real system, one scenario after another.
 *
 *   node chaos/run.js [--only worker-sigkill,postgres-outage] [--cases 250] [--scale 2] [--keep]
 *
 * --scale N runs every scenario on N worker and N API processes (one dev server, one database; the
 * clients balance over the API processes). The `scale-out` scenario always runs 2 + 2.
 *
 * Needs a built dist/ (`npm run chaos` builds it first), the Temporal CLI (found or installed
 * like `npm start` does) and the Postgres server binaries (initdb, pg_ctl). Prints one line per
 * scenario and `N passed, N failed` last; exits non-zero when a scenario failed.
 * CHAOS_DIST=<dir> runs another build of src/ than dist/ (it must live inside the project).
 */
const { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } = require('node:fs');
const { tmpdir, cpus, totalmem, loadavg } = require('node:os');
const { join, resolve } = require('node:path');
const { startThrowawayPostgres } = require('./lib/postgres');
const { SCENARIOS } = require('./scenarios');

const root = resolve(__dirname, '..');

function parseArgs(argv) {
  const args = { only: Object.keys(SCENARIOS), cases: 250, scale: 1, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (a.includes('=') ? a.split('=')[1] : argv[++i]);
    if (a.startsWith('--only')) args.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--cases')) args.cases = Number(value());
    else if (a.startsWith('--scale')) args.scale = Number(value());
    else if (a === '--keep') args.keep = true;
    else throw new Error(`unknown argument ${a}; usage: node chaos/run.js [--only a,b] [--cases N] [--scale N] [--keep]`);
  }
  for (const name of args.only) if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  if (!Number.isInteger(args.cases) || args.cases < 1) throw new Error('--cases must be a positive integer');
  if (!Number.isInteger(args.scale) || args.scale < 1 || args.scale > 8) throw new Error('--scale must be an integer from 1 to 8');
  return args;
}

const pad = (s, n) => String(s).padEnd(n);

function resultLine(name, r) {
  if (r.error) return `chaos ${pad(name, 17)} FAIL  ${r.error.split('\n')[0]}`;
  const ok = r.problems.length === 0;
  return `chaos ${pad(name, 17)} ${ok ? 'PASS' : 'FAIL'}  cases ${r.cases}/${r.expected}  final states OK ${r.finalOk}  events ${r.events}  duplicates ${r.duplicates}  time ${r.seconds.toFixed(1)} s` +
    (r.redispatched ? `  re-dispatched orders ${r.redispatched}` : '') +
    (r.note ? `\n      ${r.note}` : '');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const dist = resolve(process.env.CHAOS_DIST ?? join(root, 'dist'));
  if (!existsSync(join(dist, 'worker.js'))) throw new Error(`${dist}/worker.js not found: build first (node scripts/build.js), or use npm run chaos`);
  const runId = Date.now().toString(36);
  const dir = mkdtempSync(join(tmpdir(), 'gongjian-chaos-'));
  const started = Date.now();
  console.log(`chaos: ${args.only.length} scenario(s), ${args.cases} cases each, ${args.scale} worker + ${args.scale} API process(es) (scale-out: 2 + 2); ` +
    `${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; logs in ${dir}`);

  // The workflow code is bundled once for every worker of the run, as production workers do.
  const { bundleWorkflowCode } = require('@temporalio/worker');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve(join(dist, 'workflows')), logger: silentLogger() });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  const { resolveTemporalCli } = require(join(dist, 'dev/tools.js'));
  const cliPath = await resolveTemporalCli({ projectRoot: root, log: (m) => console.log(`chaos: ${m}`) });
  const { findFreePort } = require(join(dist, 'dev/temporalDevServer.js'));
  const pgDir = mkdtempSync(join(tmpdir(), 'gongjian-chaos-pg-'));
  const pg = await startThrowawayPostgres({ dir: pgDir, port: await findFreePort() });
  const run = { dir, dist, bundlePath, cliPath, pg, runId, scale: args.scale };

  let passed = 0;
  let failed = 0;
  const results = {};
  try {
    for (const name of args.only) {
      let r;
      try {
        if (!pg.running) pg.start();
        r = await SCENARIOS[name](run, args.cases);
      } catch (err) {
        r = { error: err.stack ?? String(err) };
      }
      results[name] = r;
      const ok = !r.error && r.problems.length === 0;
      if (ok) passed += 1; else failed += 1;
      console.log(resultLine(name, r));
      if (!ok) {
        const problems = r.error ? [r.error] : r.problems;
        for (const p of problems.slice(0, 15)) console.log(`      ! ${p}`);
        if (problems.length > 15) console.log(`      ! ... and ${problems.length - 15} more`);
        console.log(`      logs: ${join(dir, name)}`);
      }
    }
  } finally {
    pg.destroy();
  }
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`chaos: done in ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (failed === 0 && !args.keep) rmSync(dir, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

function silentLogger() {
  const noop = () => undefined;
  return { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (m) => console.error(m) };
}

main().then((code) => process.exit(code), (err) => {
  console.error(err.stack ?? String(err));
  console.log('0 passed, 1 failed');
  process.exit(1);
});
