/**
 * The console at supervision scale (100k cases / 1M events of bench/seed.ts, on the local
 * Postgres server): for the dashboard and the case list, the first contentful paint and the
 * time until the data is on the page, in Chromium; the server's part of each page (the HTML
 * shell plus the API calls the page makes, in parallel as the page makes them) p95 against the
 * JSON it draws from (the same data calls made together without the shell; a page with one
 * call, the case list, draws from one endpoint; the dashboard from four), also printed against
 * its main list alone and call by call, measured in the same run; and the bundle's gzip size.
 *
 *   npx jest -c bench/jest.config.js bench/console.bench.ts
 *     BENCH_CONSOLE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/gj_console; dropped after unless BENCH_KEEP=1),
 *     BENCH_ITERATIONS (server runs, default 100), BENCH_PAINTS (page loads, default 10), BENCH_ENFORCE=0 (report only)
 */
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Client as TemporalClient } from '@temporalio/client';
import { Client } from 'pg';
import { createApp } from '../src/api/app';
import { hashPassword } from '../src/api/passwords';
import { loadConfig } from '../src/config';
import { createPool, type Pool } from '../src/db/pool';
import { insertUser } from '../src/db/users';
import { createLogger } from '../src/logger';
import { closeServer } from '../src/server';
import { launchBrowser, type TestBrowser } from '../tests/support/browser';
import { ensureDatabase, prepareBenchData } from './database';
import { goal } from './support/goals';

const URL_ = process.env.BENCH_CONSOLE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/gj_console';
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 100);
const PAINTS = Number(process.env.BENCH_PAINTS ?? 10);
const out = (line: string) => process.stdout.write(`${line}\n`);

let pool: Pool;
let server: Server;
let base: string;
let cookie: string;
let browser: TestBrowser;

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(0.95 * xs.length) - 1];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(run: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const get = async (path: string) => {
  const res = await fetch(`${base}${path}`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  await res.arrayBuffer();
};

/** The requests each page makes: first the shell (and who-am-I), then its data calls in parallel. */
const PAGES = {
  dashboard: { hash: '#/dashboard', json: '/v1/cases?status=escalated&limit=100', calls: ['/v1/partners?limit=500', '/v1/cases?status=escalated&limit=100', '/v1/timeouts?within=PT24H&limit=200', '/v1/extension-requests?limit=100'] },
  cases: { hash: '#/cases', json: '/v1/cases?limit=50', calls: ['/v1/partners?limit=500', '/v1/cases?limit=50'] },
};

beforeAll(async () => {
  await ensureDatabase(URL_);
  pool = createPool(URL_, 5);
  await prepareBenchData(pool, out);
  const config = loadConfig({ APP_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: URL_, ADMIN_API_KEY: 'bench-console-admin-0123456789', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0' });
  // These pages read Postgres only; no Temporal call happens on their routes.
  const { app } = createApp({ config, pool, temporal: {} as TemporalClient, log: createLogger('silent', 'bench') });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const username = `bench-supervisor-${randomUUID().slice(0, 6)}`;
  await insertUser(pool, { id: randomUUID(), username, displayName: '督办', passwordHash: await hashPassword('bench-password-1'), role: 'supervisor', partnerId: null, communities: null, escalationLevel: 2 });
  const login = await fetch(`${base}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'bench-password-1' }) });
  cookie = login.headers.get('set-cookie')!.split(';')[0];
  browser = await launchBrowser();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  if (server) await closeServer(server);
  await pool?.end();
  if (process.env.BENCH_KEEP !== '1') {
    const admin = new Client({ connectionString: URL_.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${new URL(URL_).pathname.slice(1)}" WITH (FORCE)`);
    await admin.end();
  }
});

it('paints the dashboard and the case list fast, with a server part close to the JSON behind them', async () => {
  const sizes = JSON.parse(readFileSync(join(__dirname, '../dist/console-web/sizes.json'), 'utf8')) as { rawBytes: number; gzipBytes: number };
  out(`\nconsole bundle: ${(sizes.rawBytes / 1024).toFixed(0)} KiB raw, ${(sizes.gzipBytes / 1024).toFixed(0)} KiB gzip (JS + CSS), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const misses: string[] = [];
  goal('console bundle, JS + CSS gzip', sizes.gzipBytes / 1024, 1024, { op: '<', unit: 'KiB', digits: 0 });
  if (sizes.gzipBytes >= 1024 * 1024) misses.push('bundle >= 1 MB gzip');
  const ctx = await browser.context({ viewport: { width: 1280, height: 900 } });
  await ctx.addCookies([{ name: 'gj_session', value: cookie.split('=')[1], url: base }]);
  for (const [name, page] of Object.entries(PAGES)) {
    const json: number[] = [];
    const serverPart: number[] = [];
    const each = new Map<string, number[]>(page.calls.map((c) => [c, []]));
    /** The JSON the page draws from: its data calls made together, as the page makes them, without the shell. */
    const calls: number[] = [];
    for (let i = 0; i < 10; i++) { await get(page.json); await get('/console/'); }
    for (let i = 0; i < ITERATIONS; i++) {
      json.push(await timed(() => get(page.json)));
      for (const call of page.calls) each.get(call)!.push(await timed(() => get(call)));
      calls.push(await timed(() => Promise.all(page.calls.map(get))));
      serverPart.push(await timed(async () => {
        await Promise.all([get('/console/'), get('/v1/session')]);
        await Promise.all(page.calls.map(get));
      }));
    }
    const fcp: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < PAINTS + 1; i++) {
      const tab = await ctx.newPage();
      await tab.goto(`${base}/console/${page.hash}`);
      await tab.locator('main[aria-busy="false"]').waitFor({ timeout: 30_000 });
      const t = await tab.evaluate(() => ({ fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN, ready: performance.now() }));
      if (i > 0) { fcp.push(t.fcp); ready.push(t.ready); } // the first load fills the browser cache
      await tab.close();
    }
    const mainRatio = p95(serverPart) / p95(json);
    const ratio = p95(serverPart) / p95(calls);
    out(`${name.padEnd(10)} its calls alone, p95: ${[...each].map(([c, xs]) => `${c} ${p95(xs).toFixed(1)} ms`).join('; ')}; all ${page.calls.length} together ${p95(calls).toFixed(1)} ms`);
    out(`${name.padEnd(10)} FCP median ${median(fcp).toFixed(0)} ms, max ${Math.max(...fcp).toFixed(0)} ms; data on the page median ${median(ready).toFixed(0)} ms, max ${Math.max(...ready).toFixed(0)} ms; ` +
      `server part p95 ${p95(serverPart).toFixed(1)} ms: x${ratio.toFixed(2)} of the JSON it draws from (goal <= 2), x${mainRatio.toFixed(2)} of ${page.json} alone (p95 ${p95(json).toFixed(1)} ms)`);
    goal(`console ${name} first contentful paint, max`, Math.max(...fcp), 1500, { op: '<=', unit: 'ms', digits: 0 });
    goal(`console ${name} server part p95 / the JSON it draws from p95`, ratio, 2, { op: '<=', note: `x${mainRatio.toFixed(2)} of ${page.json} alone` });
    if (Math.max(...fcp) > 1500) misses.push(`${name}: FCP ${Math.max(...fcp).toFixed(0)} ms > 1500 ms`);
    if (ratio > 2) misses.push(`${name}: server part x${ratio.toFixed(2)} of its JSON endpoint`);
  }
  await ctx.close();
  if (process.env.BENCH_ENFORCE !== '0') expect(misses).toEqual([]);
});
