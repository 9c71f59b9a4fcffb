// `npm start` as a newcomer runs it, for scripts/smoke.js and scripts/acceptance.js: a fresh
// DATA_DIR and free ports, everything else the embedded defaults (no DATABASE_URL, no
// TEMPORAL_ADDRESS, no ADMIN_API_KEY: a dev server, an embedded Postgres, a generated key);
// start it in its own process group, wait until it is ready, stop it as Ctrl-C does.
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync } = require('node:fs');
const net = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');

/** Variables that would make `npm start` use something other than its embedded defaults. */
const NOT_DEFAULT = [
  'DATABASE_URL', 'TEMPORAL_ADDRESS', 'ADMIN_API_KEY', 'APP_ENV', 'PAYLOAD_ENCRYPTION_KEYS', 'WEBHOOK_SECRET_KEYS',
  'PUBLIC_BASE_URL', 'HOST', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE',
];

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A fresh DATA_DIR and three distinct free ports (API, Temporal dev server, its UI). */
async function freshInstall(name) {
  const dataDir = mkdtempSync(join(tmpdir(), `gongjian-${name}-`));
  const ports = new Set();
  while (ports.size < 3) ports.add(await freePort());
  const [port, temporalPort, uiPort] = [...ports];
  const env = {
    ...process.env, DATA_DIR: dataDir, PORT: String(port), TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort), LOG_LEVEL: 'warn',
  };
  for (const v of NOT_DEFAULT) delete env[v];
  return { dataDir, env, port, url: `http://127.0.0.1:${port}` };
}

function start(install) {
  const t0 = Date.now();
  // Its own process group, so stopping it reaches npm, node and the dev servers, as Ctrl-C does.
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env: install.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  return { child, t0, url: install.url, output: () => output };
}

/** Seconds from start until /readyz answers 200 (and, with `banner`, until the output matches it). */
async function waitReady(run, timeoutMs, banner) {
  const deadline = Date.now() + timeoutMs;
  let ready = false;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`npm start exited with ${run.child.exitCode}:\n${run.output()}`);
    if (!ready) {
      try {
        ready = (await fetch(`${run.url}/readyz`)).ok;
      } catch { /* not listening yet */ }
    }
    if (ready && (!banner || banner.test(run.output()))) return (Date.now() - run.t0) / 1000;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready within ${timeoutMs / 1000} s:\n${run.output()}`);
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole group; wait until every process of it has exited (SIGKILL after 30 s). */
async function stop(run) {
  const t0 = Date.now();
  if (!groupAlive(run.child.pid)) return 0;
  process.kill(-run.child.pid, 'SIGTERM');
  while (groupAlive(run.child.pid)) {
    if (Date.now() - t0 > 30_000) {
      process.kill(-run.child.pid, 'SIGKILL');
      throw new Error(`npm start did not stop within 30 s of SIGTERM:\n${run.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return (Date.now() - t0) / 1000;
}

module.exports = { root, freshInstall, start, waitReady, stop };
