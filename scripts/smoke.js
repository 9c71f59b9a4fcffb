#!/usr/bin/env node
// Smoke test of `npm start` as a newcomer runs it: start on a fresh DATA_DIR, wait until
// ready, open a case, stop, start again, and find the same case and its timeline.
// Usage: node scripts/smoke.js   (needs a built dist/; `npm start`'s prestart builds it)
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'gongjian-smoke-'));
const port = 3000 + Math.floor(Math.random() * 1000);
const env = {
  ...process.env, DATA_DIR: dataDir, PORT: String(port), TEMPORAL_DEV_PORT: String(17000 + Math.floor(Math.random() * 1000)),
  TEMPORAL_UI_PORT: String(18000 + Math.floor(Math.random() * 1000)), LOG_LEVEL: 'warn',
};
delete env.DATABASE_URL;
delete env.TEMPORAL_ADDRESS;
delete env.ADMIN_API_KEY;
const api = `http://127.0.0.1:${port}`;

function start() {
  const t0 = Date.now();
  // Its own process group, so stopping it reaches npm, node and the dev servers, as Ctrl-C does.
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  return { child, t0, output: () => output };
}

async function waitReady(run, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`npm start exited with ${run.child.exitCode}:\n${run.output()}`);
    try {
      const res = await fetch(`${api}/readyz`);
      if (res.ok) return (Date.now() - run.t0) / 1000;
    } catch { /* not listening yet */ }
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

async function call(method, path, key, body) {
  const res = await fetch(`${api}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function main() {
  const first = start();
  const firstReady = await waitReady(first, 180_000);
  console.log(`smoke: first start ready in ${firstReady.toFixed(1)} s`);
  const admin = readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim();
  const { key: staff } = await call('POST', '/v1/api-keys', admin, { role: 'staff', name: 'smoke' });
  const created = await call('POST', '/v1/service-requests', staff, {
    resident: { name: '李奶奶', phone: '13900000000', community: '南湖社区' }, category: 'food', description: '送餐', urgency: 'normal', channel: 'walk_in',
  });
  for (let i = 0; i < 100; i++) {
    const history = await call('GET', `/v1/cases/${created.id}/history`, admin).catch(() => []);
    if (history.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const stopSeconds = await stop(first);
  console.log(`smoke: case ${created.id} opened; stopped in ${stopSeconds.toFixed(1)} s`);

  const second = start();
  const secondReady = await waitReady(second, 60_000);
  console.log(`smoke: second start ready in ${secondReady.toFixed(1)} s`);
  try {
    const again = await call('GET', `/v1/service-requests/${created.id}`, staff);
    const history = await call('GET', `/v1/cases/${created.id}/history`, admin);
    if (again.id !== created.id || history[0]?.type !== 'intake') throw new Error('the case did not survive the restart');
    console.log(`smoke: after restart the case is ${again.status} with ${history.length} timeline event(s)`);
  } finally {
    await stop(second);
  }
}

main().then(() => console.log('smoke: passed'), (err) => {
  console.error(`smoke: FAILED: ${err.stack || err}`);
  process.exit(1);
});
