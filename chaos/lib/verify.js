'use strict';
/**
 * The end-of-scenario checks: every case reached its final state in the read model and in
 * Temporal, every timeline is complete and in order, no business event is duplicated, and
 * what the partners received matches what the timelines say was delivered.
 */

/** A resident request that was accepted, completed, visited and rated 5 has exactly these once each. */
const ONCE = ['intake', 'accepted', 'completed', 'follow_up', 'survey', 'closed'];
const ALLOWED = new Set([...ONCE, 'dispatched', 'notification_delivered', 'notification_failed', 'notification_cancelled', 'dispatch_failed']);
const IN_ORDER = ['intake', 'accepted', 'completed', 'follow_up', 'survey', 'closed'];

function stable(value) {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stable(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** Problems in one case's timeline (events sorted by seq) against its read-model row. */
function checkTimeline(caseId, events, row, { allowRedispatch }) {
  const problems = [];
  const say = (m) => problems.push(`${caseId}: ${m}`);
  events.forEach((e, i) => { if (e.seq !== i + 1) say(`seq ${e.seq} at position ${i + 1} (gap or disorder)`); });
  if (row && row.last_seq !== events.length) say(`read model last_seq ${row.last_seq} but ${events.length} events stored`);
  const byType = new Map();
  for (const e of events) {
    if (!ALLOWED.has(e.type)) say(`unexpected event ${e.type} (seq ${e.seq}): ${JSON.stringify(e.data)}`);
    byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
  }
  for (const t of ONCE) {
    const n = byType.get(t)?.length ?? 0;
    if (n !== 1) say(`${n} ${t} events (expected 1)`);
  }
  if (events[0]?.type !== 'intake') say(`first event is ${events[0]?.type}`);
  // Nothing happens to a closed case; only the outcome of a delivery still being retried may be recorded after it.
  const closedSeq = byType.get('closed')?.[0]?.seq ?? Infinity;
  for (const e of events) {
    if (e.seq > closedSeq && !['notification_delivered', 'notification_failed'].includes(e.type)) say(`${e.type} after closed (seq ${e.seq})`);
  }
  const seqOf = (t) => byType.get(t)?.[0]?.seq ?? -1;
  for (let i = 1; i < IN_ORDER.length; i++) {
    if (seqOf(IN_ORDER[i - 1]) > seqOf(IN_ORDER[i])) say(`${IN_ORDER[i - 1]} after ${IN_ORDER[i]}`);
  }
  const closed = byType.get('closed')?.[0];
  if (closed && closed.data.outcome !== 'satisfied') say(`closed with outcome ${closed.data.outcome}`);

  const dispatched = byType.get('dispatched') ?? [];
  if (dispatched.length === 0) say('never dispatched');
  if (!allowRedispatch && dispatched.length !== 1) say(`${dispatched.length} dispatches (expected 1: no delivery may fail in this scenario)`);
  // A delivery ends delivered, failed, or cancelled because its order moved on (accepted while it was still retried).
  const notifications = ['notification_delivered', 'notification_failed', 'notification_cancelled'].flatMap((t) => byType.get(t) ?? []);
  const accepted = byType.get('accepted')?.[0];
  for (const d of dispatched) {
    const outcome = notifications.filter((n) => n.data.event === 'order.dispatched' && n.data.orderId === d.data.orderId);
    if (outcome.length !== 1) say(`order ${d.data.orderId}: ${outcome.length} delivery outcomes recorded (expected 1)`);
    if (outcome[0]?.type === 'notification_failed' && accepted?.data.orderId !== d.data.orderId
        && !(byType.get('dispatch_failed') ?? []).some((f) => f.data.orderId === d.data.orderId)) {
      say(`order ${d.data.orderId}: delivery failed but no dispatch_failed recorded`);
    }
  }
  if (accepted && dispatched.length && accepted.data.orderId !== dispatched.at(-1).data.orderId) {
    say(`accepted order ${accepted.data.orderId} is not the last one offered (${dispatched.at(-1).data.orderId})`);
  }
  // A business event recorded twice would be the same type with the same data (each carries its order or delivery id).
  const seen = new Set();
  let duplicates = 0;
  for (const e of events) {
    const k = `${e.type}|${stable(e.data)}`;
    if (seen.has(k)) { duplicates += 1; say(`duplicate ${e.type} at seq ${e.seq}`); }
    seen.add(k);
  }
  return { problems, duplicates };
}

/**
 * @param {{ pool: import('pg').Pool, world: import('./partners').PartnerWorld, expected: number,
 *           temporal?: import('@temporalio/client').Client, readModelQuery?: unknown, allowRedispatch?: boolean }} opts
 */
async function verifyScenario({ pool, world, expected, temporal, readModelQuery, allowRedispatch = false }) {
  const problems = [...world.errors];
  const { rows: caseRows } = await pool.query(
    `SELECT id, status, outcome, last_seq, details->>'description' AS description FROM cases WHERE community = $1`, [world.community]);
  const rowById = new Map(caseRows.map((r) => [r.id, r]));
  const ids = caseRows.map((r) => r.id);
  if (caseRows.length !== expected) problems.push(`${caseRows.length} cases in the read model, expected ${expected}`);
  for (const id of world.cases.keys()) if (!rowById.has(id)) problems.push(`${id}: answered to the client but missing from the read model`);
  for (const id of ids) if (!world.cases.has(id)) problems.push(`${id}: in the read model but never answered to the client (an orphan intake)`);

  // One case per Idempotency-Key, and every answer for a key named that case.
  const perKey = new Map();
  for (const r of caseRows) perKey.set(r.description, (perKey.get(r.description) ?? 0) + 1);
  const duplicateCases = [...perKey.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0);
  if (duplicateCases) problems.push(`${duplicateCases} duplicate cases for one Idempotency-Key`);
  for (const [key, answers] of world.byIdempotencyKey) if (answers.size > 1) problems.push(`Idempotency-Key ${key} answered with ${answers.size} different cases`);

  // Every answer for a case carried one tracking code, and that code is stored for the case: also
  // when the API that handed it out was killed before writing it (the worker stores it from the
  // workflow memo with the case's first read-model batch; docs/intake.md).
  const { rows: codeRows } = await pool.query('SELECT case_id, code FROM tracking_codes WHERE case_id = ANY ($1::text[])', [[...world.cases.keys()]]);
  const storedCode = new Map(codeRows.map((r) => [r.case_id, r.code]));
  for (const [id, entry] of world.cases) {
    const codes = [...(entry.codes ?? [])];
    if (codes.length !== 1) problems.push(`${id}: answered with ${codes.length} different tracking codes`);
    else if (storedCode.get(id) !== codes[0]) problems.push(`${id}: the tracking code answered is not the one stored (${storedCode.get(id) ?? 'none'})`);
  }

  let finalOk = 0;
  for (const r of caseRows) {
    if (r.status === 'closed' && r.outcome === 'satisfied') finalOk += 1;
    else problems.push(`${r.id}: read model says ${r.status}/${r.outcome}`);
  }

  const { rows: eventRows } = await pool.query(
    'SELECT case_id, seq, type, data FROM case_events WHERE case_id = ANY($1) ORDER BY case_id, seq', [ids]);
  const eventsByCase = new Map(ids.map((id) => [id, []]));
  for (const e of eventRows) eventsByCase.get(e.case_id).push(e);
  let duplicates = 0;
  let afterClose = 0;
  let cancelledDeliveries = 0;
  for (const [id, events] of eventsByCase) {
    const closedSeq = events.find((e) => e.type === 'closed')?.seq ?? Infinity;
    afterClose += events.filter((e) => e.seq > closedSeq).length;
    cancelledDeliveries += events.filter((e) => e.type === 'notification_cancelled').length;
    const t = checkTimeline(id, events, rowById.get(id), { allowRedispatch });
    problems.push(...t.problems);
    duplicates += t.duplicates;
  }

  // The partners' side of each delivery.
  const partnerIdByIndex = new Map([...world.partners].map(([i, p]) => [i, p.id]));
  const idsPerOrderEvent = new Map();
  let arrivals = 0;
  for (const [deliveryId, d] of world.deliveries) {
    arrivals += d.arrivals.length;
    if (d.arrivals.some((a) => !a.signatureValid)) problems.push(`delivery ${deliveryId}: bad signature`);
    if (d.bodyDeliveryId !== deliveryId) problems.push(`delivery ${deliveryId}: body says ${d.bodyDeliveryId}`);
    if (d.arrivals.some((a) => a.caseId !== d.caseId || a.orderId !== d.orderId || a.partnerIndex !== d.partnerIndex)) {
      problems.push(`delivery id ${deliveryId} reused for another order, case or partner`);
    }
    const k = `${d.caseId}|${d.event}|${d.orderId}`;
    idsPerOrderEvent.set(k, [...(idsPerOrderEvent.get(k) ?? []), deliveryId]);
  }
  for (const [k, dids] of idsPerOrderEvent) if (dids.length > 1) problems.push(`${k} delivered under ${dids.length} delivery ids: ${dids.join(', ')}`);
  let delivered = 0;
  for (const events of eventsByCase.values()) {
    for (const e of events.filter((x) => x.type === 'notification_delivered')) {
      delivered += 1;
      const d = world.deliveries.get(e.data.deliveryId);
      if (!d) problems.push(`${e.data.deliveryId}: recorded as delivered, never seen by the partner`);
      else if (!d.arrivals.some((a) => a.status >= 200 && a.status < 300)) problems.push(`${e.data.deliveryId}: recorded as delivered, the partner never answered 2xx`);
      else if (partnerIdByIndex.get(d.partnerIndex) !== e.data.partnerId) problems.push(`${e.data.deliveryId}: delivered to another partner than recorded`);
    }
  }

  // The sender's own log of attempts agrees with each outcome: a delivered order has its 2xx attempt, a failed one none.
  const { rows: attemptRows } = await pool.query(
    'SELECT delivery_id, attempt, http_status FROM webhook_attempts WHERE case_id = ANY($1)', [ids]);
  const attemptsOf = new Map();
  for (const a of attemptRows) attemptsOf.set(a.delivery_id, [...(attemptsOf.get(a.delivery_id) ?? []), a]);
  let redispatched = 0;
  for (const events of eventsByCase.values()) {
    for (const e of events) {
      const tries = attemptsOf.get(e.data.deliveryId) ?? [];
      const ok = tries.filter((a) => a.http_status >= 200 && a.http_status < 300);
      if (e.type === 'notification_delivered' && !ok.some((a) => a.attempt === e.data.attempts)) {
        problems.push(`${e.data.deliveryId}: delivered at attempt ${e.data.attempts}, but no such 2xx attempt logged`);
      }
      if (e.type === 'notification_failed' && ok.length) problems.push(`${e.data.deliveryId}: recorded as failed, but attempt ${ok[0].attempt} got ${ok[0].http_status}`);
      if (e.type === 'dispatch_failed') redispatched += 1;
    }
  }

  // Temporal's side: one workflow per case, each completed, its timeline fully written.
  let workflows = null;
  if (temporal) {
    workflows = 0;
    const seenIds = new Set();
    for await (const wf of temporal.workflow.list({ query: `Community = '${world.community}'` })) {
      workflows += 1;
      const caseId = wf.workflowId.replace(/^service-request:/, '');
      if (seenIds.has(wf.workflowId)) problems.push(`${wf.workflowId}: more than one run`);
      seenIds.add(wf.workflowId);
      if (wf.status.name !== 'COMPLETED') problems.push(`${wf.workflowId}: workflow is ${wf.status.name}`);
      if (!rowById.has(caseId)) problems.push(`${wf.workflowId}: a workflow without a read-model case`);
    }
    if (workflows !== expected) problems.push(`${workflows} workflows in Temporal, expected ${expected}`);
    if (readModelQuery) {
      const queue = [...ids];
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (queue.length) {
          const id = queue.pop();
          try {
            const s = await temporal.workflow.getHandle(`service-request:${id}`).query(readModelQuery);
            const stored = eventsByCase.get(id).length;
            if (s.recordedSeq !== stored || s.writtenSeq !== stored) problems.push(`${id}: workflow recorded ${s.recordedSeq}, confirmed ${s.writtenSeq}, Postgres has ${stored}`);
          } catch (err) {
            problems.push(`${id}: query failed: ${err.message}`);
          }
        }
      }));
    }
  }

  return {
    cases: caseRows.length, expected, finalOk, events: eventRows.length, duplicates, duplicateCases, workflows,
    deliveries: world.deliveries.size, arrivals, delivered, afterClose, cancelledDeliveries, redispatched, problems,
  };
}

module.exports = { verifyScenario, checkTimeline };
