#!/usr/bin/env node
// Smoke test of `npm start` as a newcomer runs it: start on a fresh DATA_DIR, wait until
// ready, open a case, stop, start again, and find the same case and its timeline.
// Usage: node scripts/smoke.js   (needs a built dist/; `npm start`'s prestart builds it)
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { freshInstall, start, waitReady, stop } = require('./lib/npmStart');

let api;

async function call(method, path, key, body) {
  const res = await fetch(`${api}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function main() {
  const install = await freshInstall('smoke');
  api = install.url;
  const dataDir = install.dataDir;
  const first = start(install);
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

  const second = start(install);
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
