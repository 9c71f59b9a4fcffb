'use strict';
/**
 * The outside world of a chaos scenario: loopback partner systems that receive signed
 * webhooks and work their orders through the API (accept, complete), and the staff who
 * open cases (with Idempotency-Key), visit again (follow-up) and record the survey.
 * Everything they see is kept for the final checks.
 */
const { createHmac, timingSafeEqual } = require('node:crypto');
const { createServer } = require('node:http');
const { sleep } = require('./http');

/** Answer every delivery at once with 200. */
const alwaysOk = () => ({ status: 200, delayMs: 0 });

class PartnerWorld {
  /**
   * @param {{ api: import('./http').ApiClient, adminKey: string, community: string, category?: string,
   *           policy?: (d: { deliveryId: string, event: string }, arrival: number) => { status: number, delayMs: number },
   *           deadline: () => number }} opts
   */
  constructor(opts) {
    this.api = opts.api;
    this.adminKey = opts.adminKey;
    this.community = opts.community;
    this.category = opts.category ?? 'daily_goods';
    this.policy = opts.policy ?? alwaysOk;
    this.deadline = opts.deadline;
    /** partner index (webhook path) -> { id, key, secret } */
    this.partners = new Map();
    /** deliveryId -> { partnerIndex, event, caseId, orderId, arrivals: [{ status, delayMs, signatureValid, at }], acted } */
    this.deliveries = new Map();
    /** caseId -> { idempotencyKey, index, answers: Set<caseId>, closed, abandonedOrders, error } */
    this.cases = new Map();
    this.byIdempotencyKey = new Map();
    this.stats = { opened: 0, accepted: 0, completed: 0, closed: 0, abandonedOrders: 0, intake201: 0, intake200: 0 };
    this.errors = [];
    this.chains = new Set();
    /** Cases whose survey the staff recorded (the driver's view; the checks read the system's). */
    this.closedCases = new Set();
    /** When each survey was recorded, for the recovery figures. */
    this.closedAt = [];
  }

  async start() {
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** Register `count` partners serving the scenario's community and category, each with its own key and secret. */
  async registerPartners(count, capacity = 10_000) {
    for (let i = 1; i <= count; i++) {
      const secret = `chaos-partner-secret-${i}-${Math.random().toString(36).slice(2)}`;
      const created = await this.mustCall('POST', '/v1/partners', this.adminKey, {
        name: `混沌测试物业 ${i}`, kind: 'property_company', categories: [this.category], communities: [this.community],
        capacity, webhookUrl: `${this.url}/p/${i}`, webhookSecret: secret,
      }, 201);
      const key = await this.mustCall('POST', '/v1/api-keys', this.adminKey, { role: 'partner', name: `partner ${i}`, partnerId: created.id }, 201);
      this.partners.set(String(i), { id: created.id, key: key.key, secret });
    }
    const staff = await this.mustCall('POST', '/v1/api-keys', this.adminKey, { role: 'staff', name: 'chaos staff' }, 201);
    this.staffKey = staff.key;
    this.staffKeyId = staff.id;
  }

  async mustCall(method, path, key, body, expected) {
    const res = await this.api.callRetrying(method, path, { key, body }, { deadline: Date.now() + 60_000 });
    if (res.status !== expected) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  // ---- the partner side: webhooks ----

  onRequest(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const index = (/^\/p\/(\d+)$/.exec(req.url ?? '') ?? [])[1];
      const partner = index && this.partners.get(index);
      if (!partner) { res.statusCode = 404; res.end(); return; }
      const expected = Buffer.from(`sha256=${createHmac('sha256', partner.secret).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-signature'] ?? ''));
      const signatureValid = expected.length === given.length && timingSafeEqual(expected, given);
      let body;
      try { body = JSON.parse(raw); } catch { body = {}; }
      const deliveryId = String(req.headers['x-delivery-id'] ?? '');
      let d = this.deliveries.get(deliveryId);
      if (!d) {
        d = { partnerIndex: index, event: String(req.headers['x-event']), caseId: body.caseId, orderId: body.orderId, bodyDeliveryId: body.deliveryId, arrivals: [], acted: false };
        this.deliveries.set(deliveryId, d);
      }
      const answer = signatureValid ? this.policy({ deliveryId, event: d.event }, d.arrivals.length + 1) : { status: 401, delayMs: 0 };
      const arrival = { status: answer.status, delayMs: answer.delayMs, signatureValid, at: Date.now(), partnerIndex: index, caseId: body.caseId, orderId: body.orderId };
      d.arrivals.push(arrival);
      if (answer.delayMs > 0) await sleep(answer.delayMs);
      if (!res.destroyed) { res.statusCode = answer.status; res.end(); }
      // A partner works an order it has taken (answered 2xx), once per delivery id, even if its answer came too late.
      if (answer.status >= 200 && answer.status < 300 && d.event === 'order.dispatched' && !d.acted) {
        d.acted = true;
        const chain = this.workOrder(partner, body.caseId).catch((err) => this.fail(body.caseId, `order chain crashed: ${err.stack}`));
        this.chains.add(chain);
        chain.finally(() => this.chains.delete(chain));
      }
    });
  }

  fail(caseId, message) {
    const c = this.cases.get(caseId);
    if (c && !c.error) c.error = message;
    this.errors.push(`${caseId}: ${message}`);
  }

  /** accept -> complete (partner), follow-up -> survey (staff). Repeats after a lost answer are recognised by the 409's state. */
  async workOrder(partner, caseId) {
    const path = `/v1/service-requests/${caseId}`;
    const retrying = (p, key, body) => this.api.callRetrying('POST', p, { key, body }, { deadline: this.deadline() });
    const stateOf = (res) => res.body?.state ?? res.body?.status;

    const accept = await retrying(`${path}/accept`, partner.key, {});
    if (accept.status === 403 || (accept.status === 409 && !['in_progress'].includes(stateOf(accept)))) {
      this.stats.abandonedOrders += 1; // the order moved on to another partner meanwhile
      return;
    }
    if (accept.status !== 200) return this.fail(caseId, `accept -> ${accept.status} ${JSON.stringify(accept.body)}`);
    this.stats.accepted += 1;

    const complete = await retrying(`${path}/complete`, partner.key, { note: '已上门处理 (chaos)', hoursSpent: 1.5 });
    if (!(complete.status === 200 || (complete.status === 409 && ['awaiting_follow_up', 'awaiting_survey', 'closed'].includes(stateOf(complete))))) {
      return this.fail(caseId, `complete -> ${complete.status} ${JSON.stringify(complete.body)}`);
    }
    this.stats.completed += 1;

    const followUp = await retrying(`${path}/follow-up`, this.staffKey, { resolved: true, note: '回访: 已解决' });
    if (!(followUp.status === 200 || (followUp.status === 409 && ['awaiting_survey', 'closed'].includes(stateOf(followUp))))) {
      return this.fail(caseId, `follow-up -> ${followUp.status} ${JSON.stringify(followUp.body)}`);
    }
    const survey = await retrying(`${path}/survey`, this.staffKey, { score: 5, comment: '满意' });
    if (!(survey.status === 200 || (survey.status === 409 && stateOf(survey) === 'closed'))) {
      return this.fail(caseId, `survey -> ${survey.status} ${JSON.stringify(survey.body)}`);
    }
    this.stats.closed += 1;
    this.closedCases.add(caseId);
    this.closedAt.push(Date.now());
  }

  // ---- the staff side: intake ----

  /**
   * Open `n` cases, `concurrency` requests at a time, each with its own Idempotency-Key,
   * retried with the same key and body until answered. `onProgress(answered)` after each.
   */
  async openCases(n, { concurrency = 20, prefix, onProgress = () => undefined } = {}) {
    let next = 0;
    const one = async (i) => {
      const idempotencyKey = `${prefix}-${i}`;
      const body = {
        resident: { name: `居民${i}`, phone: `1380000${String(i).padStart(4, '0')}`, community: this.community, address: `${i}号楼` },
        category: this.category, description: `chaos intake ${idempotencyKey}`, urgency: 'normal', channel: 'phone',
      };
      const answers = new Set();
      const codes = new Set();
      let res;
      for (let attempt = 0; ; attempt++) {
        res = await this.api.callRetrying('POST', '/v1/service-requests', { key: this.staffKey, body, headers: { 'idempotency-key': idempotencyKey } }, { deadline: this.deadline() });
        if (res.status === 201 || res.status === 200) {
          answers.add(res.body.id);
          codes.add(res.body.trackingCode);
        }
        // One more repeat after success: the answer must name the same case (a client that lost the first answer).
        if ((res.status === 201 || res.status === 200) && attempt === 0 && i % 10 === 0) continue;
        break;
      }
      if (res.status === 201) this.stats.intake201 += 1;
      if (res.status === 200) this.stats.intake200 += 1;
      if (res.status !== 201 && res.status !== 200) {
        this.errors.push(`intake ${idempotencyKey} -> ${res.status} ${JSON.stringify(res.body)}`);
        return;
      }
      const caseId = res.body.id;
      const entry = this.cases.get(caseId) ?? { index: i, idempotencyKey, answers: new Set(), codes: new Set(), error: null };
      for (const a of answers) entry.answers.add(a);
      for (const c of codes) entry.codes.add(c);
      this.cases.set(caseId, entry);
      this.byIdempotencyKey.set(idempotencyKey, answers);
      this.stats.opened += 1;
      onProgress(this.stats.opened);
    };
    const runners = Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++);
    });
    await Promise.all(runners);
  }

  /** Wait until every chain the partners started has ended (or the deadline). */
  async settle() {
    while (this.chains.size > 0 && Date.now() < this.deadline()) await Promise.race([...this.chains, sleep(1000)]);
  }
}

/**
 * Flaky partner endpoints: for each delivery id, the first 4 requests fail half the time (HTTP
 * 500) and time out one time in ten (the answer comes after the sender gave up); the 5th gets
 * 200, so an order is lost to the partner only when one of the sender's 5 attempts never
 * reached it (then the workflow gives up and offers the order to the next partner).
 */
function flakyPolicy({ webhookTimeoutMs, seed = 7 }) {
  let s = seed >>> 0;
  const random = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return (_d, arrival) => {
    if (arrival >= 5) return { status: 200, delayMs: 0 };
    const r = random();
    if (r < 0.5) return { status: 500, delayMs: 0 };
    if (r < 0.6) return { status: 200, delayMs: webhookTimeoutMs + 500 };
    return { status: 200, delayMs: 0 };
  };
}

module.exports = { PartnerWorld, flakyPolicy, alwaysOk };
