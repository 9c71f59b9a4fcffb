'use strict';
/** A client of the REST API that behaves like a well-written integration: it retries what may be retried. */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Statuses that mean "try again later" (and 0: no answer at all, e.g. the API process is gone). */
const TRANSIENT = new Set([0, 408, 429, 500, 502, 503, 504]);

/** How long an API process that gave no answer is passed over, when another one is there (a load balancer's passive health check). */
const PASS_OVER_MS = 2000;

class ApiClient {
  /**
   * @param {string | string[]} urls  one API process, or several behind a load balancer: calls go round
   *   robin, and one that gave no answer (refused, reset, timed out) is passed over for PASS_OVER_MS
   *   while another is there, so a retry goes to a live process.
   */
  constructor(urls) {
    this.urls = Array.isArray(urls) ? [...urls] : [urls];
    this.url = this.urls[0];
    this.next = 0;
    this.downUntil = this.urls.map(() => 0);
    /** How often each transient status was met, for the scenario report. */
    this.transient = {};
    this.calls = 0;
    /** Calls per API process (index into `urls`). */
    this.callsTo = this.urls.map(() => 0);
  }

  pick() {
    const now = Date.now();
    for (let i = 0; i < this.urls.length; i++) {
      const at = (this.next + i) % this.urls.length;
      if (this.downUntil[at] <= now) {
        this.next = at + 1;
        return at;
      }
    }
    return this.next++ % this.urls.length;
  }

  /** `target`: the index of the API process to ask (no balancing), e.g. to check one process's view. */
  async call(method, path, { key, body, headers = {}, timeoutMs = 20_000, target } = {}) {
    this.calls += 1;
    const at = target ?? this.pick();
    this.callsTo[at] += 1;
    const h = { ...headers };
    if (key) h.authorization = `Bearer ${key}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    try {
      const res = await fetch(`${this.urls[at]}${path}`, {
        method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
      return { status: res.status, body: parsed, headers: res.headers, api: at };
    } catch (err) {
      if (this.urls.length > 1) this.downUntil[at] = Date.now() + PASS_OVER_MS;
      return { status: 0, body: undefined, headers: new Headers(), error: err.cause?.code ?? err.name ?? String(err), api: at };
    }
  }

  /**
   * Call until the answer is not transient, or the deadline passes (then the last answer is
   * returned). Backs off 200 ms doubling to 2 s; a Retry-After shorter than that is honoured.
   */
  async callRetrying(method, path, opts = {}, { deadline = Date.now() + 180_000 } = {}) {
    let delay = 200;
    for (;;) {
      const res = await this.call(method, path, opts);
      if (!TRANSIENT.has(res.status) || Date.now() >= deadline) return res;
      this.transient[res.status] = (this.transient[res.status] ?? 0) + 1;
      const retryAfter = Number(res.headers.get('retry-after'));
      const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, delay) : delay;
      await sleep(wait * (0.75 + Math.random() / 2));
      delay = Math.min(delay * 2, 2000);
    }
  }
}

module.exports = { ApiClient, TRANSIENT, sleep };
