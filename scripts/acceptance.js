#!/usr/bin/env node
// Acceptance run of the issues' stories "through `npm start` on a fresh clone": start
// `npm start` on a fresh DATA_DIR with the embedded defaults, read the generated admin key,
// create the keys, partners and contacts the stories need through the API, and run the
// stories of docs/care-plans.md, docs/sla-clocks.md, docs/intake.md and docs/console.md
// against the running system. One line per check (`ok - ...` / `not ok - ...`), exit 1 on any
// failure. Webhooks go to a loopback receiver in this process, checked with `standardwebhooks`.
// Usage: node scripts/acceptance.js   (or `npm run acceptance`, which builds first)
'use strict';
const { createServer } = require('node:http');
const { randomBytes } = require('node:crypto');
const { readdirSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const ExcelJS = require('exceljs');
const { XMLParser } = require('fast-xml-parser');
const { Webhook } = require('standardwebhooks');
const { root, freshInstall, start, waitReady, stop } = require('./lib/npmStart');

const T0 = Date.now();
let api = '';
let failures = 0;
let checks = 0;

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** Wait for an instant of the clock (a visit's window, a step's time): a time, not a state to poll. */
const clockAt = (t) => sleep(t - Date.now());
const iso = (ms) => new Date(ms).toISOString();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const BEIJING_MS = 8 * 3_600_000; // Asia/Shanghai has kept UTC+8 without daylight saving since 1991
const beijing = (ms) => `${new Date(ms + BEIJING_MS).toISOString().slice(0, 16).replace('T', ' ')} Beijing`;

// ---- HTTP, checks, polling ----

async function http(method, path, { key, body, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  let payload = raw;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path.startsWith('http') ? path : `${api}${path}`, { method, headers: h, body: payload, redirect: 'manual' });
    // The API's own rate limits (600/min per key, 1200/min per address) are not what is tested here.
    if (res.status === 429 && attempt < 3) {
      await sleep(Math.min(10, Number(res.headers.get('retry-after') || 1)) * 1000);
      continue;
    }
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, body: json };
  }
}

class StoryAbort extends Error {}

function story(name) {
  const say = (ok, what, figures) => {
    checks++;
    if (!ok) failures++;
    console.log(`${ok ? 'ok' : 'not ok'} - ${name}: ${what}${figures ? ` (${figures})` : ''}`);
    return ok;
  };
  return {
    name,
    ok: say,
    /** A check the rest of the story depends on: a failure ends the story. */
    must(ok, what, figures) {
      if (!say(ok, what, figures)) throw new StoryAbort(what);
    },
    /** Poll until `fn` gives a value `accept` takes; a failed check (and the end of the story) at the deadline. */
    async until(what, fn, { accept = Boolean, timeoutMs = 30_000, intervalMs = 250 } = {}) {
      const deadline = Date.now() + timeoutMs;
      let last;
      let lastError;
      for (;;) {
        try {
          last = await fn();
          if (accept(last)) return last;
        } catch (err) {
          lastError = err;
        }
        if (Date.now() > deadline) {
          const seen = JSON.stringify(last) ?? String(lastError);
          say(false, `${what} within ${secs(timeoutMs)}`, `last seen: ${seen.slice(0, 400)}`);
          throw new StoryAbort(what);
        }
        await sleep(intervalMs);
      }
    },
  };
}

async function runStory(name, fn) {
  const s = story(name);
  const t = Date.now();
  try {
    await fn(s);
    console.log(`# ${name}: done in ${secs(Date.now() - t)}`);
  } catch (err) {
    if (!(err instanceof StoryAbort)) s.ok(false, `the story stopped on an error: ${err.stack || err}`);
    console.log(`# ${name}: stopped after ${secs(Date.now() - t)}`);
  }
}

// ---- a loopback receiver for partner and escalation-contact webhooks ----

async function startReceiver() {
  const endpoints = new Map(); // path -> secret
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const secret = endpoints.get(req.url);
      let standardValid = false;
      try {
        // As a partner's system would check it: the reference Standard Webhooks library, the secret's bytes as the key.
        new Webhook(secret, { format: 'raw' }).verify(raw, Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])));
        standardValid = true;
      } catch { /* left false */ }
      let body = null;
      try { body = JSON.parse(raw); } catch { /* left null */ }
      received.push({ path: req.url, event: String(req.headers['x-event'] ?? body?.event), standardValid, raw, body });
      res.statusCode = secret ? 200 : 404;
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    endpoint(name) {
      const path = `/hooks/${name}`;
      const secret = `acceptance-${name}-${randomBytes(12).toString('hex')}`;
      endpoints.set(path, secret);
      return { url: `${base}${path}`, secret, deliveries: (event) => received.filter((d) => d.path === path && (!event || d.event === event)) };
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

// ---- set-up through the API ----

let admin = '';
let hooks;

async function createKey(role, extra = {}) {
  const res = await http('POST', '/v1/api-keys', { key: admin, body: { role, name: `acceptance ${role}`, ...extra } });
  if (res.status !== 201) throw new Error(`could not create a ${role} key: ${res.status} ${res.text}`);
  return res.body.key;
}

async function createPartner(fields) {
  const hook = hooks.endpoint(`partner-${randomBytes(4).toString('hex')}`);
  const res = await http('POST', '/v1/partners', {
    key: admin, body: { kind: 'social_org', capacity: 20, webhookUrl: hook.url, webhookSecret: hook.secret, ...fields },
  });
  if (res.status !== 201) throw new Error(`could not create partner ${fields.name}: ${res.status} ${res.text}`);
  return { id: res.body.id, name: fields.name, key: await createKey('partner', { partnerId: res.body.id }), hook };
}

const historyOf = async (id, key) => (await http('GET', `/v1/cases/${id}/history`, { key })).body ?? [];

// ---- 1. care plans (docs/care-plans.md) ----

async function carePlanStory(s) {
  const community = '青松社区';
  const staff = await createKey('staff', { communities: [community] });
  const supervisor = await createKey('supervisor', { communities: [community] });
  const carers = await createPartner({ name: '夕阳红养老服务中心', categories: ['medical'], communities: [community] });
  const others = await createPartner({ name: '邻里互助队', kind: 'volunteer_team', categories: ['medical'], communities: [community] });
  const handyman = await createPartner({ name: '安居适老化改造公司', kind: 'enterprise', categories: ['housing'], communities: [community] });

  // The care-plan policy's escalation chain, fast (docs/sla-clocks.md: one policy for every plan; it applies to plans opened afterwards).
  const ruleMaker = await createKey('supervisor');
  const carePolicy = await http('PUT', '/v1/sla-policies', {
    key: ruleMaker, body: { caseType: 'care_plan', escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT3S' }, { level: 3, after: 'PT6S' }] },
  });
  s.must(carePolicy.status === 200, 'a care-plan policy with escalationSteps PT0S, PT3S, PT6S is stored', `${carePolicy.status}`);

  const resident = { name: '张奶奶', phone: '13900001111', community, address: '5号楼1单元302', flags: ['elderly_alone'] };
  const created = await http('POST', '/v1/care-plans', {
    key: staff,
    body: {
      resident, partnerId: carers.id, services: ['rehab_massage', 'health_monitoring'],
      schedule: { firstVisitAt: iso(Date.now() + 8000), every: 'PT20S', visitLength: 'PT5S', lateAfter: 'PT5S', missedAfter: 'PT10S' },
      installations: [{ item: 'anti_fall_handrail', note: '卫生间' }],
    },
  });
  s.must(created.status === 201 && created.body.status === 'active', 'POST /v1/care-plans opens an active plan (every PT20S, late after PT5S, missed after PT10S)', `${created.status}, next ${created.body?.nextVisit?.visitId}`);
  const id = created.body.id;
  const plan = async () => (await http('GET', `/v1/care-plans/${id}`, { key: staff })).body;
  const visits = async () => (await http('GET', `/v1/care-plans/${id}/visits`, { key: staff })).body?.items ?? [];
  const visit = (visitId, accept, what, timeoutMs = 30_000) =>
    s.until(what, async () => (await visits()).find((v) => v.visitId === visitId), { accept: (v) => !!v && accept(v), timeoutMs });
  const checkIn = (visitId, key) => http('POST', `/v1/care-plans/${id}/visits/${visitId}/check-in`, { key, body: { carer: '李护工', location: { lat: 43.88, lng: 125.32 } } });
  const checkOut = (visitId, key) => http('POST', `/v1/care-plans/${id}/visits/${visitId}/check-out`, { key, body: { services: ['rehab_massage'], note: '血压正常' } });

  // The handrail: a linked service request (category housing), dispatched by the service-request machinery;
  // checked beside the visits, whose times do not wait.
  const installation = (async () => {
    const srId = await s.until('the installation opened as a service request', async () => (await plan()).installations?.[0]?.serviceRequestId);
    const sr = await s.until('the installation dispatched', async () => (await http('GET', `/v1/service-requests/${srId}`, { key: staff })).body, {
      accept: (c) => c?.status === 'awaiting_ack',
    });
    s.ok(sr.category === 'housing' && sr.assignedPartnerId === handyman.id, 'the handrail is a linked service request dispatched to the housing partner', `${srId}: ${sr.status}, ${sr.category}, partner ${sr.assignedPartnerId === handyman.id ? handyman.name : sr.assignedPartnerId}`);
    const dispatched = await s.until('order.dispatched to the housing partner', () => handyman.hook.deliveries('order.dispatched').find((d) => d.body?.caseId === srId));
    s.ok(dispatched.standardValid, 'the housing partner gets a signed order.dispatched for it');
    const shown = await s.until('the plan shows the installation status', async () => (await plan()).installations[0], { accept: (i) => i?.status === 'awaiting_ack' });
    s.ok(shown.item === 'anti_fall_handrail', 'the plan lists the installation with its request status', `${shown.item}: ${shown.status}`);
  })();
  installation.catch(() => undefined); // awaited at the end; a failure there must not end the process meanwhile

  const v1 = await visit('visit-1', () => true, 'visit-1 scheduled');
  const told = await s.until('visit.scheduled delivered to the partner', () => carers.hook.deliveries('visit.scheduled').find((d) => d.body?.caseId === id));
  s.ok(told.standardValid && told.body.orderId === 'visit-1', 'the partner is told of visit-1 with a valid Standard Webhooks signature', `orderId ${told.body.orderId}`);

  // visit 1: another partner refused once check-in is open; the plan's partner checks in and out.
  await clockAt(Date.parse(v1.dueAt) + 300);
  const refused = await checkIn('visit-1', others.key);
  s.ok(refused.status === 403, 'another partner is refused check-in (403)', `${refused.status}`);
  const in1 = await checkIn('visit-1', carers.key);
  s.must(in1.status === 200, 'the partner checks in to visit-1 on time', `${in1.status}`);
  await clockAt(Date.now() + 3000);
  const out1 = await checkOut('visit-1', carers.key);
  s.must(out1.status === 200, 'the partner checks out of visit-1', `${out1.status}, hoursTotal ${out1.body?.hoursTotal}`);
  const done1 = await visit('visit-1', (v) => v.status === 'completed', 'visit-1 completed');
  const ms1 = Date.parse(done1.checkOutAt) - Date.parse(done1.checkInAt);
  s.ok(done1.late === false && ms1 >= 3000 && Math.abs(done1.hours - ms1 / 3_600_000) < 0.0001 && done1.carer === '李护工',
    'visit-1 completed on time with its hours counted (check-out − check-in)', `${secs(ms1)} = ${done1.hours} h, carer ${done1.carer}`);

  // visit 2: nobody by dueAt + PT5S: late (the partner told); then checked in and out.
  // The webhook goes out before the timeline and the visit row are written (docs/care-plans.md): the
  // partner hears of it first, as in life, and checks in; the row is checked for `late` afterwards.
  const late = await s.until('visit.late delivered', () => carers.hook.deliveries('visit.late').find((d) => d.body?.caseId === id), { timeoutMs: 45_000 });
  const v2 = (await visits()).find((v) => v.visitId === 'visit-2');
  s.ok(late.standardValid && late.body.orderId === 'visit-2', 'visit-2 turns late after PT5S and the partner is told (signed)', `told ${secs(Date.now() - Date.parse(v2?.dueAt))} past due`);
  s.must((await checkIn('visit-2', carers.key)).status === 200, 'the partner checks in to the late visit-2');
  await clockAt(Date.now() + 2000);
  s.must((await checkOut('visit-2', carers.key)).status === 200, 'the partner checks out of visit-2');
  const done2 = await visit('visit-2', (v) => v.status === 'completed', 'visit-2 completed');
  s.ok(done2.late === true && done2.hours > 0, 'visit-2 completed, still marked late, hours counted', `${done2.hours} h`);

  // visit 3: nobody by dueAt + PT10S: missed, escalated in the case and in /v1/timeouts.
  const v3 = await visit('visit-3', (v) => v.status === 'missed', 'visit-3 missed', 50_000);
  s.ok(v3.hours == null, 'visit-3 missed after PT10S, no hours', `status ${v3.status}`);
  // visit 4 (scheduled when visit 3 came due): cancelled by staff before its check-in opens: not a miss, no hours.
  await visit('visit-4', (v) => v.status === 'scheduled', 'visit-4 scheduled');
  const cancelled = await http('POST', `/v1/care-plans/${id}/visits/visit-4/cancel`, { key: staff, body: { reason: '住院' } });
  const counts = cancelled.body?.visits ?? {};
  s.ok(cancelled.status === 200 && counts.completed === 2 && counts.missed === 1 && counts.cancelled === 1 && counts.late === 1,
    'a cancelled visit counts as cancelled, not missed', `completed ${counts.completed}, missed ${counts.missed}, cancelled ${counts.cancelled}, late ${counts.late}`);
  const missed = await s.until('visit.missed delivered', () => carers.hook.deliveries('visit.missed').find((d) => d.body?.caseId === id));
  s.ok(missed.standardValid, 'the partner is told of the missed visit (signed)');
  const escalated = await s.until('the plan escalated', plan, { accept: (p) => p?.escalation?.visitId === 'visit-3' });
  s.ok(escalated.escalation.level === 1 && escalated.escalation.reason === 'visit_missed', 'the missed visit raises an escalation on the plan', `level ${escalated.escalation.level}, ${escalated.escalation.reason}`);
  const top = await s.until('the escalation at level 3', plan, { accept: (p) => p?.escalation?.visitId === 'visit-3' && p.escalation.level === 3, timeoutMs: 30_000 });
  s.ok(top.escalation.level === 3, "the missed visit's escalation climbs to level 3 on the care-plan policy's steps", `level ${top.escalation.level}`);
  const climbs = await s.until('two escalation_level_raised in the timeline', () => historyOf(id, staff), { accept: (h) => h.filter((e) => e.type === 'escalation_level_raised').length >= 2 });
  s.ok(climbs.filter((e) => e.type === 'escalation_level_raised').map((e) => e.data?.level).join(',') === '2,3', 'the timeline records the climbs to levels 2 and 3',
    climbs.filter((e) => e.type === 'escalation_level_raised').map((e) => `level ${e.data?.level}`).join(', '));
  // At the top level the escalation's deadline is its start: breached until someone takes it on.
  const deadline = await s.until('the escalation in /v1/timeouts', async () =>
    ((await http('GET', `/v1/timeouts?within=PT1H&type=care_plan&community=${encodeURIComponent(community)}&limit=500`, { key: supervisor })).body?.items ?? []).find((d) => d.caseId === id && d.kind === 'escalation'));
  s.ok(deadline.breached === true && deadline.caseType === 'care_plan', 'GET /v1/timeouts lists the escalation of the plan, breached', `kind ${deadline.kind}, due ${deadline.dueAt}`);
  const raised = await s.until('escalation_raised in the timeline', () => historyOf(id, staff), { accept: (h) => h.some((e) => e.type === 'escalation_raised') });
  s.ok(raised.some((e) => e.type === 'visit_missed'), 'the timeline has visit_missed and escalation_raised');

  const ended = await http('POST', `/v1/care-plans/${id}/end`, { key: staff, body: { reason: '验收结束' } });
  s.must(ended.status === 200 && ended.body.status === 'ended', 'the plan ends', `${ended.status} ${ended.body?.status}`);
  const hoursTotal = ended.body.hoursTotal;
  const all = await s.until('the visits settled', visits, { accept: (vs) => vs.length >= 4 && vs.every((v) => v.status !== 'scheduled') });
  const v4 = all.find((v) => v.visitId === 'visit-4');
  const sum = all.reduce((t, v) => t + (v.hours ?? 0), 0);
  s.ok(v4.status === 'cancelled' && v4.hours == null && Math.abs(sum - hoursTotal) <= 0.0002, "the plan's hours are the completed visits' hours",
    `hoursTotal ${hoursTotal} h, visits ${all.map((v) => `${v.visitId} ${v.status} ${v.hours ?? '-'}`).join(', ')}`);

  // The report over the visits (read model).
  const row = await s.until('the plan in GET /v1/reports/care-hours', async () =>
    ((await http('GET', '/v1/reports/care-hours?groupBy=plan', { key: supervisor })).body?.rows ?? []).find((r) => r.key === id), {
    accept: (r) => r?.visitsCompleted === 2 && r?.visitsMissed === 1,
  });
  s.ok(Math.abs(row.hours - hoursTotal) <= 0.0002 && Math.abs(row.onTimeShare - 1 / 3) < 1e-6 && row.plans === 1,
    'GET /v1/reports/care-hours counts the hours, completed and missed visits (the cancelled one in neither)', `hours ${row.hours}, completed ${row.visitsCompleted}, missed ${row.visitsMissed}, on time ${row.onTimeShare.toFixed(3)}`);
  const byPartner = (await http('GET', '/v1/reports/care-hours?groupBy=partner', { key: supervisor })).body?.rows ?? [];
  const partnerRow = byPartner.find((r) => r.key === carers.id);
  s.ok(partnerRow?.label === carers.name && partnerRow.visitsCompleted === 2, 'grouped by partner, the hours are the plan partner\'s', `${partnerRow?.label}: ${partnerRow?.hours} h`);
  await installation;
}

// ---- 2. SLA clocks (docs/sla-clocks.md) ----

/** cn-office as docs/sla-clocks.md documents it: Mon-Fri 08:30-12:00 and 13:30-17:30 Beijing time, State Council notices. */
const CN_OFFICE = { weekdays: [1, 2, 3, 4, 5], spans: [['08:30', '12:00'], ['13:30', '17:30']] };

/** The holiday data as the repository ships it (src/domain/holidays/cn-YYYY.json). */
function holidayData() {
  const dir = join(root, 'src/domain/holidays');
  const years = new Set();
  const closed = new Set();
  const open = new Set();
  for (const f of readdirSync(dir).filter((n) => /^cn-\d{4}\.json$/.test(n))) {
    const notice = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    years.add(notice.year);
    for (const h of notice.holidays) {
      for (let d = Date.parse(`${h.from}T00:00:00Z`); d <= Date.parse(`${h.to}T00:00:00Z`); d += 86_400_000) closed.add(iso(d).slice(0, 10));
    }
    for (const w of notice.workdays) open.add(w.date);
  }
  return { years, closed, open };
}

const durationMs = (d) => {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(d);
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
};
const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/**
 * The due date by the documented rules, worked out here independently of src/domain/calendar.ts:
 * count working time forward day by day; a make-up day (调休) works, a holiday does not, else
 * Monday to Friday; the count stops exactly at the end of a span when it runs out there; a
 * count that runs into a year without a notice is provisional (Monday to Friday there).
 */
function expectedDue(fromMs, duration, data) {
  let remaining = durationMs(duration);
  let provisional = false;
  const local = fromMs + BEIJING_MS;
  for (let day = Math.floor(local / 86_400_000) * 86_400_000; ; day += 86_400_000) {
    const date = iso(day).slice(0, 10);
    if (!data.years.has(Number(date.slice(0, 4)))) provisional = true;
    const weekday = ((new Date(day).getUTCDay() + 6) % 7) + 1;
    const working = data.open.has(date) || (!data.closed.has(date) && CN_OFFICE.weekdays.includes(weekday));
    if (!working) continue;
    for (const [from, to] of CN_OFFICE.spans) {
      const s = Math.max(day + minutes(from) * 60_000, local);
      const e = day + minutes(to) * 60_000;
      if (e <= s) continue;
      if (remaining <= e - s) return { dueMs: s + remaining - BEIJING_MS, provisional };
      remaining -= e - s;
    }
  }
}

async function slaStory(s) {
  const staff = await createKey('staff');
  const supervisor = await createKey('supervisor');

  // The due-date preview across National Day and Spring Festival 2026.
  const cal = (await http('GET', '/v1/calendars/cn-office', { key: staff })).body;
  s.ok(JSON.stringify(cal?.workingHours) === JSON.stringify(CN_OFFICE.spans.map(([from, to]) => ({ from, to }))) && cal.timezone === 'Asia/Shanghai'
    && JSON.stringify(cal.weekdays) === JSON.stringify(CN_OFFICE.weekdays), 'cn-office is the documented calendar', `${cal?.timezone}, ${cal?.workingHours?.map((h) => `${h.from}-${h.to}`).join(', ')}`);
  const data = holidayData();
  const previews = [
    ['2026-09-30T16:00:00+08:00', 'PT19H', 'National Day: the make-up Saturday 10 October'],
    ['2026-09-30T17:30:00+08:00', 'PT7H30M', 'National Day: all of Thursday 8 October, due at closing'],
    ['2026-09-19T12:00:00+08:00', 'PT8H', 'the make-up Sunday 20 September counts'],
    ['2026-02-13T16:00:00+08:00', 'PT4H', 'Spring Festival: the make-up Saturday 14 February'],
    ['2026-02-14T17:00:00+08:00', 'PT1H', 'Spring Festival: 15-23 February off'],
    ['2026-02-27T17:30:00+08:00', 'PT3H', 'Spring Festival: the make-up Saturday 28 February'],
    ['2026-12-31T17:00:00+08:00', 'PT1H', 'into 2027, which has no notice yet: provisional'],
  ];
  for (const [from, duration, what] of previews) {
    const want = expectedDue(Date.parse(from), duration, data);
    const res = await http('GET', `/v1/calendars/cn-office/due?from=${encodeURIComponent(from)}&duration=${duration}`, { key: staff });
    const got = res.body ?? {};
    s.ok(res.status === 200 && got.dueAt === iso(want.dueMs) && got.provisional === want.provisional,
      `preview ${beijing(Date.parse(from))} + ${duration}: ${what}`, `due ${got.dueAt ? beijing(Date.parse(got.dueAt)) : res.status}${got.provisional ? ', provisional' : ''}; computed ${beijing(want.dueMs)}${want.provisional ? ', provisional' : ''}`);
  }

  // A fast escalation chain for urgent hardship cases (no partner serves hardship where they are opened).
  const policy = await http('PUT', '/v1/sla-policies', {
    key: supervisor,
    body: {
      caseType: 'service_request', category: 'hardship', urgency: 'urgent', ackTimeout: 'PT1S', reminderAfter: 'PT1M', maxDispatchAttempts: 1,
      escalationSteps: [{ level: 1, after: 'PT0S' }, { level: 2, after: 'PT3S' }, { level: 3, after: 'PT6S' }],
    },
  });
  s.must(policy.status === 200, 'a policy with escalationSteps PT0S, PT3S, PT6S is stored', `${policy.status}`);
  const contact = async (level, community) => {
    const hook = hooks.endpoint(`contact-${level}-${randomBytes(3).toString('hex')}`);
    const res = await http('POST', '/v1/escalation-contacts', {
      key: supervisor, body: { name: `第${level}级联系人`, level, communities: [community], webhookUrl: hook.url, webhookSecret: hook.secret },
    });
    if (res.status !== 201) throw new Error(`contact: ${res.status} ${res.text}`);
    return hook;
  };
  const resident = { name: '李奶奶', phone: '13600001111' };
  const open = async (community, urgency = 'urgent') => {
    const res = await http('POST', '/v1/service-requests', {
      key: staff, body: { resident: { ...resident, community }, category: 'hardship', description: '独居困难，需要帮扶', urgency, channel: 'phone' },
    });
    if (res.status !== 201) throw new Error(`open: ${res.status} ${res.text}`);
    return res.body.id;
  };
  const get = async (id) => (await http('GET', `/v1/service-requests/${id}`, { key: staff })).body;

  // The climb: levels 1, 2, 3, each level's contact told once, signed, without resident data.
  const climb = '向阳社区';
  const contacts = [await contact(1, climb), await contact(2, climb), await contact(3, climb)];
  const opened = Date.now();
  const id = await open(climb);
  const timeline = await s.until('level 3 reached', () => historyOf(id, staff), {
    accept: (t) => t.some((e) => e.type === 'escalation_level_raised' && e.data?.level === 3),
  });
  const firsts = timeline.filter((e) => e.type === 'escalation_raised').map((e) => e.data?.level);
  const climbs = timeline.filter((e) => e.type === 'escalation_level_raised').map((e) => e.data?.level);
  s.ok(firsts.join() === '1' && climbs.join() === '2,3', 'an unanswered case climbs to level 3 with two escalation_level_raised events',
    `escalation_raised ${firsts.join()}, escalation_level_raised ${climbs.join()}, level 3 after ${secs(Date.now() - opened)}`);
  for (const [i, hook] of contacts.entries()) {
    const got = await s.until(`the level ${i + 1} contact's webhook`, () => hook.deliveries('escalation.raised'), { accept: (d) => d.length > 0 });
    const d = got[0];
    s.ok(got.length === 1 && d.standardValid && d.body.caseId === id && d.body.level === i + 1 && d.body.reason === 'no_partner' && !/李奶奶|13600001111/.test(d.raw),
      `the level ${i + 1} contact gets one signed escalation.raised (standardwebhooks verifies it), no resident data`, `level ${d.body.level}, ${d.body.reason}, ${got.length} delivery`);
  }
  const at3 = await get(id);
  s.ok(at3.escalation?.level === 3 && at3.escalation.reason === 'no_partner', 'the case shows its escalation at level 3', `level ${at3.escalation?.level}`);

  // An acknowledgement at level 2 stops the climb.
  const ackCommunity = '向阳社区二网格';
  const third = await contact(3, ackCommunity);
  const id2 = await open(ackCommunity);
  await s.until('level 2 reached', () => historyOf(id2, staff), { accept: (t) => t.some((e) => e.type === 'escalation_level_raised' && e.data?.level === 2) });
  const ack = await http('POST', `/v1/service-requests/${id2}/escalation/acknowledge`, { key: supervisor, body: { note: '社区书记接手' } });
  s.must(ack.status === 200 && ack.body.escalation?.level === 2 && /^supervisor:/.test(ack.body.escalation.acknowledgedBy ?? ''),
    'a supervisor acknowledges the escalation at level 2', `${ack.status}, level ${ack.body?.escalation?.level}, by ${ack.body?.escalation?.acknowledgedBy}`);
  // Nothing to await: the absence of level 3 is checked once its step (PT6S from the start) is well past.
  await clockAt(Date.parse(ack.body.escalation.since) + 6000 + 3000);
  const after = await historyOf(id2, staff);
  s.ok(after.filter((e) => e.type === 'escalation_level_raised').map((e) => e.data?.level).join() === '2' && third.deliveries().length === 0
    && after.some((e) => e.type === 'escalation_acknowledged'), 'no level 3 after the acknowledgement: no event, no webhook to the level 3 contact',
  `${secs(Date.now() - Date.parse(ack.body.escalation.since))} after the escalation started`);

  // A hold stops the fulfilment clock; resume moves the deadline by the time held.
  const holdCommunity = '向阳社区三网格';
  const helper = await createPartner({ name: '帮扶中心', categories: ['hardship'], communities: [holdCommunity] });
  const id3 = await open(holdCommunity, 'normal');
  await s.until('the hardship case dispatched', () => get(id3), { accept: (c) => c?.status === 'awaiting_ack' });
  const accepted = await http('POST', `/v1/service-requests/${id3}/accept`, { key: helper.key, body: {} });
  s.must(accepted.status === 200 && accepted.body.deadlines?.fulfilment, 'the partner accepts: the fulfilment clock runs', `due ${accepted.body?.deadlines?.fulfilment}`);
  const before = Date.parse(accepted.body.deadlines.fulfilment);
  const deadlinesOf = async (caseId) => ((await http('GET', `/v1/timeouts?within=P30D&community=${encodeURIComponent(holdCommunity)}&limit=500`, { key: supervisor })).body?.items ?? []).filter((d) => d.caseId === caseId);
  await s.until('the fulfilment deadline in /v1/timeouts', () => deadlinesOf(id3), { accept: (ds) => ds.some((d) => d.kind === 'fulfilment') });
  const held = await http('POST', `/v1/service-requests/${id3}/hold`, { key: helper.key, body: { reason: 'awaiting_parts', note: '等配件' } });
  s.must(held.status === 200 && held.body.onHold?.reason === 'awaiting_parts', 'the partner puts the case on hold', `${held.status}, since ${held.body?.onHold?.since}`);
  const whileHeld = await s.until('the fulfilment deadline leaves /v1/timeouts', () => deadlinesOf(id3), {
    accept: (ds) => ds.some((d) => d.kind === 'hold') && !ds.some((d) => d.kind === 'fulfilment'),
  });
  s.ok(true, 'while held, the fulfilment clock is stopped: /v1/timeouts lists the hold deadline instead', `kinds ${whileHeld.map((d) => d.kind).join(', ')}`);
  await clockAt(Date.parse(held.body.onHold.since) + 2000);
  const resumed = await http('POST', `/v1/service-requests/${id3}/resume`, { key: staff, body: {} });
  const moved = Date.parse(resumed.body?.deadlines?.fulfilment) - before;
  s.ok(resumed.status === 200 && resumed.body.onHold === null && resumed.body.held?.count === 1 && moved === resumed.body.held.workingMs && moved >= 2000,
    'resume moves the fulfilment deadline by the time held', `moved ${secs(moved)}, held.workingMs ${resumed.body?.held?.workingMs}`);
  const back = await s.until('the moved deadline in /v1/timeouts', () => deadlinesOf(id3), {
    accept: (ds) => ds.some((d) => d.kind === 'fulfilment' && Date.parse(d.dueAt) === before + moved),
  });
  s.ok(!back.some((d) => d.kind === 'hold'), '/v1/timeouts shows the moved fulfilment deadline and no hold', `due ${back.find((d) => d.kind === 'fulfilment').dueAt}`);
}

// ---- 3. intake (docs/intake.md) ----

const CSV = 'text/csv';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const csvCell = (c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
/** A needs list as the communities keep it: Chinese headers, 衣/食/住, a BOM from Excel's "CSV UTF-8". */
const needsList = (rows) => `\ufeff姓名,电话,社区,小区,地址,类别,描述,紧急程度\r\n${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;

async function intakeStory(s) {
  const community = '南湖社区';
  const staff = await createKey('staff');
  const partner = await createPartner({ name: '幸福里服务队', kind: 'volunteer_team', categories: ['clothing', 'food', 'housing'], communities: [community, '龙山社区'], capacity: 100 });
  const casesIn = async (c) => (await http('GET', `/v1/cases?community=${encodeURIComponent(c)}&limit=500`, { key: staff })).body?.items ?? [];
  const upload = (path, body, type) => http('POST', path, { key: staff, raw: body, headers: { 'content-type': type } });
  const finished = (importId) => s.until(`import ${importId} done`, async () => (await http('GET', `/v1/imports/${importId}`, { key: staff })).body, { accept: (b) => b?.status === 'done' });

  const rows = [
    ['王桂兰', '13904371001', community, '幸福里', '3号楼2单元101', '衣', '冬衣不够，需要棉衣两件', '普通'],
    ['李德福', '13904371002', community, '幸福里', '5号楼1单元302', '食', '独居老人，希望每周送餐', '紧急'],
    ['张淑珍', '13904371003', community, '', '', '住', '屋顶漏雨, 很急', ''],
  ];
  const personal = rows.flatMap((r) => [r[0], r[1], r[4], r[6]]).filter(Boolean);
  const posted = await upload('/v1/imports/service-requests', needsList(rows), CSV);
  s.must(posted.status === 202 && posted.body.rows === 3, 'a CSV needs list (Chinese headers, 衣/食/住) is taken', `${posted.status}, ${posted.body?.rows} rows`);
  const done = await finished(posted.body.id);
  const cats = [];
  for (const caseId of done.caseIds) cats.push((await http('GET', `/v1/service-requests/${caseId}`, { key: staff })).body?.category);
  s.ok(done.created === 3 && cats.join() === 'clothing,food,housing' && Object.keys(done.trackingCodes ?? {}).length === 3,
    'the CSV becomes three cases, 衣/食/住 as clothing/food/housing, each with a tracking code', `created ${done.created}: ${cats.join(', ')}`);

  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet('需求清单');
  sheet.addRow(['姓名', '电话', '社区', '类别', '描述', '紧急程度', '渠道']);
  sheet.addRow(['刘洋', 13904372001, '南湖社区二组', '住', '窗户坏了', '紧急', '电话']);
  sheet.addRow(['陈洁', '13904372002', '南湖社区二组', '衣', '需要冬衣', '普通', '来访']);
  const xlsx = await upload('/v1/imports/service-requests', Buffer.from(await wb.xlsx.writeBuffer()), XLSX);
  s.must(xlsx.status === 202, 'an .xlsx needs list (built with exceljs) is taken', `${xlsx.status}, ${xlsx.body?.rows} rows`);
  const xdone = await finished(xlsx.body.id);
  const first = (await http('GET', `/v1/service-requests/${xdone.caseIds[0]}`, { key: staff })).body;
  s.ok(xdone.created === 2 && first?.category === 'housing' && first.urgency === 'urgent' && first.channel === 'phone' && first.resident?.phone === '13904372001',
    'the .xlsx becomes two cases (a phone typed as a number is still the phone)', `created ${xdone.created}; first ${first?.category}/${first?.urgency}/${first?.channel}, phone ${first?.resident?.phone}`);

  const brokenCommunity = '南湖社区三组';
  const broken = await upload('/v1/imports/service-requests', needsList([
    ['王桂兰', '13904373001', brokenCommunity, '', '', '衣', '棉衣', '普通'],
    ['李德福', 'not-a-phone', brokenCommunity, '', '', '食', '送餐', '普通'],
    ['张淑珍', '13904373003', brokenCommunity, '', '', '娱乐', '广场舞音响', '普通'],
    ['', '13904373005', brokenCommunity, '', '', '住', '修门', '普通'],
  ]), CSV);
  const paths = (broken.body?.errors ?? []).map((e) => e.path);
  s.ok(broken.status === 400 && paths.join() === 'row 3.phone,row 4.category,row 5.name', 'a broken list is refused, naming its rows and fields', `${broken.status}: ${paths.join(', ')}`);
  const none = await casesIn(brokenCommunity);
  s.ok(none.length === 0, 'the broken list creates nothing', `${none.length} cases in ${brokenCommunity}`);

  // The resident follows the case by its code, without personal data anywhere.
  const caseId = done.caseIds[0];
  await s.until('the first case dispatched', async () => (await http('GET', `/v1/service-requests/${caseId}`, { key: staff })).body, { accept: (c) => c?.status === 'awaiting_ack' });
  const code = done.trackingCodes[caseId];
  const tracked = await http('GET', `/v1/track/${code}`);
  const clean = (text) => personal.every((p) => !text.includes(p));
  s.ok(tracked.status === 200 && tracked.body.status === 'awaiting_ack' && tracked.body.partnerName === partner.name && clean(tracked.text),
    'GET /v1/track/{code} follows the case without a key, with no personal data', `${tracked.body?.statusLabel}, steps ${(tracked.body?.steps ?? []).map((x) => x.key).join(',')}, expected by ${tracked.body?.expectedBy}`);
  const printed = `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
  const typed = await http('GET', `/v1/track/${printed.toLowerCase()}`);
  s.ok(typed.status === 200 && typed.body.status === tracked.body.status, 'the code typed as printed, in lower case, finds the same case', printed.toLowerCase());
  const page = await http('GET', `/track/${code}`);
  s.ok(page.status === 200 && /text\/html/.test(page.headers.get('content-type') ?? '') && page.text.includes(printed) && page.text.includes(tracked.body.statusLabel)
    && page.text.includes('<svg') && clean(page.text), 'the /track page shows the status and a QR receipt, with no personal data', `${page.status}, ${page.text.length} bytes`);
  const form = await http('GET', `/track?code=${code}`);
  s.ok(form.status === 303 && form.headers.get('location')?.startsWith(`/track/${code}`), 'the /track form sends the resident to the case page', `${form.status} -> ${form.headers.get('location')}`);

  // Open311: a client files a request form-encoded with api_key, then reads it in JSON and XML.
  const filing = new URLSearchParams({
    api_key: staff, service_code: 'housing', 'attribute[community]': '龙山社区', 'attribute[compound]': '向阳小区',
    first_name: '桂芳', last_name: '赵', phone: '13904371234', address_string: '向阳街8号', description: '水管爆了，厨房进水',
  });
  const filed = await http('POST', '/open311/v2/requests.json', { raw: filing.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const srid = filed.body?.[0]?.service_request_id;
  s.must(filed.status === 201 && srid && /查询码 [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/.test(filed.body[0].service_notice ?? ''),
    'an Open311 client files a request (form-encoded, api_key)', `${filed.status}, ${filed.body?.[0]?.service_notice}`);
  const opened = (await http('GET', `/v1/service-requests/${srid}`, { key: staff })).body;
  s.ok(opened?.channel === 'online' && opened.resident?.name === '赵桂芳' && opened.category === 'housing', 'it is a service request of channel online for 赵桂芳', `${opened?.channel}, ${opened?.resident?.name}`);
  const secret = ['桂芳', '13904371234', '向阳街8号', '水管爆了'];
  const one = await s.until('the request readable in Open311 JSON with its agency', async () => (await http('GET', `/open311/v2/requests/${srid}.json`)), {
    accept: (r) => r.body?.[0]?.agency_responsible === partner.name,
  });
  const r = one.body[0];
  s.ok(one.body.length === 1 && r.service_request_id === srid && r.status === 'open' && r.service_code === 'housing' && secret.every((p) => !one.text.includes(p)),
    'GET requests/{id}.json reads it back, without personal data', `status ${r.status}, ${r.service_name}, ${r.agency_responsible}, expected ${r.expected_datetime}`);
  const asXml = await http('GET', `/open311/v2/requests/${srid}.xml`);
  const parsed = new XMLParser({ parseTagValue: false, isArray: (n) => n === 'request' }).parse(asXml.text);
  const x = parsed?.service_requests?.request?.[0];
  s.ok(asXml.status === 200 && /xml/.test(asXml.headers.get('content-type') ?? '') && x?.service_request_id === srid && x.status === 'open' && secret.every((p) => !asXml.text.includes(p)),
    'GET requests/{id}.xml reads it back, without personal data', `<service_requests><request> ${x?.service_request_id === srid ? 'id matches' : 'id differs'}, status ${x?.status}`);
}

// ---- 4. console (docs/console.md) ----

async function consoleStory(s, run) {
  const printed = /Console\s+(\S+) \(first login: admin, password in (\S+)\)/.exec(run.output());
  s.must(!!printed && printed[1] === `${api}/console/`, 'npm start printed the console\'s address and where the first password is', printed ? `${printed[1]}, ${printed[2]}` : 'no Console line');
  const shell = await http('GET', printed[1]);
  s.ok(shell.status === 200 && /text\/html/.test(shell.headers.get('content-type') ?? '') && /<script[^>]+src="\/console\//.test(shell.text)
    && /script-src 'self'/.test(shell.headers.get('content-security-policy') ?? ''), 'GET /console/ answers the SPA shell under its CSP', `${shell.status}, ${shell.text.length} bytes`);
  const asset = /<script[^>]+src="(\/console\/[^"]+)"/.exec(shell.text);
  if (asset) {
    const js = await http('GET', asset[1]);
    s.ok(js.status === 200 && /javascript/.test(js.headers.get('content-type') ?? ''), 'its script is served', `${asset[1]}: ${js.text.length} bytes`);
  }
  const password = readFileSync(printed[2], 'utf8').trim();
  const logIn = async (username, pw) => {
    const res = await http('POST', '/v1/session', { body: { username, password: pw } });
    return { res, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0], csrf: res.body?.csrfToken };
  };
  const first = await logIn('admin', password);
  s.must(first.res.status === 200 && first.cookie.startsWith('gj_session=') && first.res.body.role === 'admin', 'the first admin logs in (POST /v1/session)', `${first.res.status}, role ${first.res.body?.role}`);
  const userPassword = `acceptance-${randomBytes(9).toString('base64url')}`;
  const made = await http('POST', '/v1/users', {
    headers: { cookie: first.cookie, 'x-csrf-token': first.csrf }, body: { username: 'wang.grid', displayName: '王网格长', password: userPassword, role: 'staff', escalationLevel: 1 },
  });
  s.must(made.status === 201 && made.body.username === 'wang.grid' && !made.text.includes(userPassword), 'the admin creates a staff user from its session (with the CSRF token)', `${made.status}, ${made.body?.username}, ${made.body?.role}`);
  const grid = await logIn('wang.grid', userPassword);
  s.must(grid.res.status === 200 && grid.res.body.role === 'staff', 'the new user logs in', `${grid.res.status}, role ${grid.res.body?.role}`);
  const cases = await http('GET', '/v1/cases?limit=100', { headers: { cookie: grid.cookie } });
  s.ok(cases.status === 200 && Array.isArray(cases.body?.items), 'the session reads /v1/cases', `${cases.status}, ${cases.body?.items?.length} cases on the first page`);
  const wrong = await logIn('wang.grid', 'not the password');
  s.ok(wrong.res.status === 401 && !wrong.cookie, 'a wrong password is a 401 with no cookie', `${wrong.res.status}`);
}

// ---- the run ----

async function main() {
  const install = await freshInstall('acceptance');
  api = install.url;
  const run = start(install);
  const onSignal = () => { stop(run).finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  hooks = await startReceiver();
  try {
    const ready = await waitReady(run, 240_000, /Gongjian is ready in/);
    const own = /Gongjian is ready in (\S+ s)/.exec(run.output())[1];
    console.log(`# npm start on a fresh DATA_DIR (${install.dataDir}) ready in ${secs(ready * 1000)} (build included; it says ${own}) at ${api}`);
    const keyLine = /Admin key\s+generated, in (\S+)/.exec(run.output());
    const setup = story('set-up');
    setup.must(!!keyLine && keyLine[1] === join(install.dataDir, 'admin-api-key'), 'npm start generated an admin key into DATA_DIR', keyLine?.[1]);
    admin = readFileSync(keyLine[1], 'utf8').trim();
    const who = await http('GET', '/v1/session', { key: admin });
    setup.must(who.status === 200 && who.body.role === 'admin', 'the generated key is an admin key', `${who.status}, role ${who.body?.role}`);

    // The care plan mostly waits for its visits' times: it runs beside the other stories.
    const care = runStory('care plans', carePlanStory);
    await runStory('sla clocks', slaStory);
    await runStory('intake', intakeStory);
    await runStory('console', (s) => consoleStory(s, run));
    await care;
  } catch (err) {
    if (!(err instanceof StoryAbort)) {
      checks++;
      failures++;
      console.log(`not ok - the run stopped: ${err.stack || err}`);
    }
  } finally {
    const stopped = await stop(run).catch((err) => { checks++; failures++; console.log(`not ok - stopping npm start: ${err.message}`); return NaN; });
    await hooks.close();
    console.log(`# npm start stopped in ${secs(stopped * 1000)}`);
  }
  console.log(`# acceptance: ${checks - failures} of ${checks} checks passed in ${secs(Date.now() - T0)}`);
  if (failures === 0) {
    rmSync(install.dataDir, { recursive: true, force: true });
  } else {
    console.log(`# DATA_DIR kept for a look: ${install.dataDir}`);
    console.log(`# npm start output:\n${run.output().split('\n').slice(-60).map((l) => `#   ${l}`).join('\n')}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.log(`not ok - acceptance: ${err.stack || err}`);
  process.exit(1);
});
