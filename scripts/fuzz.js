#!/usr/bin/env node
/**
 * `npm run fuzz`: schemathesis (PyPI, installed into .tools/venv) against the OpenAPI document
 * of a running system: `node dist/main.js` as `npm start` runs it (Temporal dev server and
 * embedded Postgres on a temp DATA_DIR, a known ADMIN_API_KEY), seeded with a few partners,
 * keys and cases so that lists have items and some ids exist.
 *
 * Passes: the admin key over every operation (what issue 7 asks), then the staff, supervisor
 * and partner keys over the operations only they may call (an admin gets 403 before any
 * validation there). Checks: no 5xx, status codes, content types, headers and bodies as
 * documented, invalid input rejected, auth not ignored, undeclared methods refused.
 * Not checked: `positive_data_acceptance`: the schemas cannot state cross-field rules (a
 * department names its department, a cursor must come from the list) that rightly give 400.
 *
 * Env: FUZZ_EXAMPLES (default 50 per operation), FUZZ_SEED (default 20261127), FUZZ_DIST
 * (another build than dist/), FUZZ_KEEP=1 keeps the data dir. Prints `N passed, N failed`
 * (operations x passes) last; exits non-zero on any failure.
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const venv = join(root, '.tools/venv');
const st = join(venv, 'bin/schemathesis');
const SCHEMATHESIS = 'schemathesis>=4.32,<5';
const CHECKS = [
  'not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_headers_conformance',
  'response_schema_conformance', 'negative_data_rejection', 'missing_required_header', 'unsupported_method',
  'ignored_auth', 'use_after_free', 'ensure_resource_availability', 'allow_header_conformance',
].join(',');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

function ensureSchemathesis() {
  if (existsSync(st)) return;
  if (!existsSync(join(venv, 'bin/python'))) {
    console.log('fuzz: creating .tools/venv');
    const r = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('python3 -m venv failed: install python3-venv (Debian: apt-get install python3-venv)');
  }
  console.log(`fuzz: installing ${SCHEMATHESIS} into .tools/venv`);
  const r = spawnSync(join(venv, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', SCHEMATHESIS], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`pip install ${SCHEMATHESIS} failed`);
}

async function main() {
  ensureSchemathesis();
  const dist = resolve(process.env.FUZZ_DIST ?? join(root, 'dist'));
  if (!existsSync(join(dist, 'main.js'))) throw new Error(`${dist}/main.js not found: build first (node scripts/build.js), or use npm run fuzz`);
  const examples = Number(process.env.FUZZ_EXAMPLES ?? 50);
  const seed = process.env.FUZZ_SEED ?? '20261127';
  const dir = mkdtempSync(join(tmpdir(), 'gongjian-fuzz-'));
  const adminKey = `fuzz-admin-${randomBytes(16).toString('hex')}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'PAYLOAD_ENCRYPTION_KEYS', 'ADMIN_API_KEY']) delete env[k];
  Object.assign(env, {
    DATA_DIR: join(dir, 'data'), ADMIN_API_KEY: adminKey, PORT: String(port), HOST: '127.0.0.1',
    TEMPORAL_DEV_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()), LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0',
  });
  console.log(`fuzz: starting the system (node dist/main.js, DATA_DIR ${env.DATA_DIR})`);
  const logFile = join(dir, 'system.log');
  const out = require('node:fs').openSync(logFile, 'a');
  // Its own process group: stopping it reaches the dev servers too, as Ctrl-C does.
  const system = spawn(process.execPath, [join(dist, 'main.js')], { cwd: root, env, stdio: ['ignore', out, out], detached: true });
  let failed = 0;
  let passed = 0;
  let receiver = null;
  try {
    const t0 = Date.now();
    for (;;) {
      if (system.exitCode !== null) throw new Error(`the system exited (${system.exitCode}):\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
      if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
      if (Date.now() - t0 > 240_000) throw new Error(`not ready within 240 s:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
      await sleep(500);
    }
    console.log(`fuzz: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; seeding`);
    // The seeded partner takes its orders (answers 200), so the partner pass acts on live orders.
    receiver = require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => res.end()); });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    const seedData = await seedSystem(url, adminKey, `http://127.0.0.1:${receiver.address().port}/webhook`);
    writeFileSync(join(dir, 'schemathesis.toml'), config(seedData));

    const passes = [
      { role: 'admin', include: [] },
      { role: 'staff', include: ['--include-path-regex', '^/v1/(service-requests|registrations)'] },
      { role: 'supervisor', include: ['--include-path-regex', '/(assign|extension-decision)$'] },
      { role: 'partner', include: ['--include-path-regex', '/(accept|decline|progress|complete|extension|me/orders|reviews/\\{department\\})$'] },
    ];
    const results = [];
    for (const pass of passes) {
      const junit = join(dir, `junit-${pass.role}.xml`);
      pass.key = pass.role === 'admin' ? adminKey : await seedData.newKey(pass.role);
      const t = Date.now();
      const args = [
        '--config-file', join(dir, 'schemathesis.toml'), 'run', `${url}/openapi.json`,
        '-H', `Authorization: Bearer ${pass.key}`, '--checks', CHECKS, '--max-examples', String(examples), '--seed', seed,
        '--workers', '1', '--no-color', '--request-timeout', '30', '--generation-database', 'none',
        '--report', 'junit', '--report-junit-path', junit, ...pass.include,
      ];
      const r = await run(st, args, { cwd: dir });
      writeFileSync(join(dir, `schemathesis-${pass.role}.log`), `${r.stdout}\n${r.stderr}`);
      const counts = junitCounts(junit);
      passed += counts.passed;
      failed += counts.failed;
      const line = `fuzz ${pass.role.padEnd(10)} ${counts.failed === 0 && r.status === 0 ? 'PASS' : 'FAIL'}  operations ${counts.total}  failed ${counts.failed}  test cases ${testCases(r.stdout)}  time ${((Date.now() - t) / 1000).toFixed(0)} s`;
      results.push(line);
      console.log(line);
      if (r.status !== 0 && counts.failed === 0) failed += 1; // schemathesis itself failed (error, bad schema)
      if (r.status !== 0) console.log(summaryOf(r.stdout, r.stderr));
    }
    const serverErrors = (readFileSync(logFile, 'utf8').match(/"msg":"unhandled error"/g) ?? []).length;
    console.log(`fuzz: the API logged ${serverErrors} unhandled error(s)`);
    if (serverErrors > 0) failed += 1;
  } finally {
    receiver?.closeAllConnections();
    receiver?.close();
    try { process.kill(-system.pid, 'SIGTERM'); } catch { /* gone */ }
    for (let i = 0; i < 300 && groupAlive(system.pid); i++) await sleep(100);
    if (groupAlive(system.pid)) try { process.kill(-system.pid, 'SIGKILL'); } catch { /* gone */ }
    if (failed === 0 && !process.env.FUZZ_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`fuzz: logs and reports in ${dir}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** spawnSync would block this event loop for minutes, and with it the HTTP client's keep-alive bookkeeping. */
function run(file, args, opts) {
  return new Promise((res, rej) => {
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('error', rej);
    child.once('close', (status) => res({ status, stdout, stderr }));
  });
}

function groupAlive(pid) {
  try { process.kill(-pid, 0); return true; } catch { return false; }
}

/** A few real partners, keys and cases, so that lists have items and some ids exist. */
async function seedSystem(url, adminKey, webhookUrl) {
  const call = async (method, path, key, body, expected = [200, 201]) => {
    const res = await fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (!expected.includes(res.status)) throw new Error(`seeding: ${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const community = '东湖社区';
  const partner = await call('POST', '/v1/partners', adminKey, {
    name: '东湖物业', kind: 'property_company', categories: ['housing', 'daily_goods'], communities: [community], capacity: 50,
    webhookUrl, webhookSecret: 'fuzz-secret-0123456789abcdef',
  });
  const tax = await call('POST', '/v1/partners', adminKey, {
    name: '税务窗口', kind: 'department', department: 'tax', categories: [], communities: [], capacity: 50,
    webhookUrl, webhookSecret: 'fuzz-secret-0123456789abcdef',
  });
  const key = async (role, extra = {}) => call('POST', '/v1/api-keys', adminKey, { role, name: `fuzz ${role}`, ...extra });
  const staff = await key('staff');
  const spare = await key('staff');
  await call('PUT', '/v1/sla-policies', adminKey, { caseType: 'service_request', category: 'housing', ackTimeout: 'PT1H', reminderAfter: 'PT30M' });
  const caseIds = [];
  for (let i = 0; i < 6; i++) {
    const c = await call('POST', '/v1/service-requests', staff.key, {
      resident: { name: `居民${i}`, phone: '13800000000', community, address: `${i}号楼` },
      category: 'housing', description: '楼道灯坏了', urgency: i === 0 ? 'urgent' : 'normal', channel: 'phone',
    });
    caseIds.push(c.id);
  }
  const registration = await call('POST', '/v1/registrations', staff.key, {
    applicants: [{ name: '张三', idNumber: '11010519491231002X', phone: '13800000001' }],
    property: { address: '东湖路1号' }, businessType: 'transfer', documents: [], delivery: 'window', community,
  }).catch((err) => { console.log(`fuzz: ${err.message} (continuing without a registration)`); return null; });
  if (registration) caseIds.push(registration.id);
  return {
    // Each pass gets a fresh key just before it runs: the admin pass revokes the keys it can list.
    newKey: async (role) => (await key(role, role === 'partner' ? { partnerId: partner.id } : {})).key,
    ids: [...caseIds, partner.id, tax.id, spare.id],
    partnerIds: [partner.id, tax.id],
  };
}

/** Known ids are offered half the time for `id` path parameters and `partnerId` fields. */
function config({ ids, partnerIds }) {
  const list = (xs) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return [
    '[dictionaries.known-ids]', `values = ${list(ids)}`, '',
    '[dictionaries.partner-ids]', `values = ${list(partnerIds)}`, '',
    '[parameters]',
    '"path.id" = { dictionary = "known-ids", probability = 0.5 }',
    '"body.partnerId" = { dictionary = "partner-ids", probability = 0.5 }',
    '"query.partnerId" = { dictionary = "partner-ids", probability = 0.5 }', '',
    // A body over the 1 MB limit is refused (413) before its schema is looked at: that is a rejection too.
    '[checks.negative_data_rejection]',
    'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]', '',
  ].join('\n');
}

function junitCounts(file) {
  if (!existsSync(file)) return { total: 0, failed: 0, passed: 0 };
  const xml = readFileSync(file, 'utf8');
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  const failed = cases.filter((c) => /<(failure|error)\b/.test(c)).length;
  return { total: cases.length, failed, passed: cases.length - failed };
}

function testCases(stdout) {
  const m = /(\d+) generated/.exec(stdout ?? '');
  return m ? m[1] : '?';
}

function summaryOf(stdout, stderr) {
  const text = `${stdout ?? ''}${stderr ?? ''}`;
  const i = text.lastIndexOf('SUMMARY');
  const failures = [...text.matchAll(/^_{3,} (.+?) _{3,}$\n[\s\S]*?^- (ST\d+ .+)$/gm)].map((m) => `      ${m[1]}: ${m[2]}`);
  return [...new Set(failures)].slice(0, 30).join('\n') + (i >= 0 ? `\n${text.slice(i - 40, i + 1200)}` : `\n${text.slice(-1500)}`);
}

main().then((code) => process.exit(code), (err) => {
  console.error(err.stack ?? String(err));
  console.log('0 passed, 1 failed');
  process.exit(1);
});
