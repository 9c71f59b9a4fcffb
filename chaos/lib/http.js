'use strict';
/** A client of the REST API that behaves like a well-written integration: it retries what may be retried. */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Statuses that mean "try again later" (and 0: no answer at all, e.g. the API process is gone). */
const TRANSIENT = new Set([0, 408, 429, 500, 502, 503, 504]);

class ApiClient {
  constructor(url) {
    this.url = url;
    /** How often each transient status was met, for the scenario report. */
    this.transient = {};
    this.calls = 0;
  }

  async call(method, path, { key, body, headers = {}, timeoutMs = 20_000 } = {}) {
    this.calls += 1;
    const h = { ...headers };
    if (key) h.authorization = `Bearer ${key}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    try {
      const res = await fetch(`${this.url}${path}`, {
        method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
      return { status: res.status, body: parsed, headers: res.headers };
    } catch (err) {
      return { status: 0, body: undefined, headers: new Headers(), error: err.cause?.code ?? err.name ?? String(err) };
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
