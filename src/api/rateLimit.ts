/**
 * Rate limits per API key and per client address: token buckets in memory. Good for one
 * API process; several replicas each enforce their own share (put a shared limiter in front
 * when that matters). Health, readiness and metrics are exempt so probes never starve.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpProblem, sendProblem } from './problem';

const EXEMPT_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
/** Above this many buckets, idle (full) ones are dropped, so random keys or addresses cannot grow memory without bound. */
const SWEEP_ABOVE = 10_000;

/** A bucket of `capacity` tokens that refills at capacity per minute. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(readonly perMinute: number, private readonly now: () => number = Date.now) {
    this.perMs = perMinute / 60_000;
  }

  /** Take one token; 0 when granted, else the seconds until one is available. */
  take(id: string): number {
    const t = this.now();
    const b = this.buckets.get(id) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    if (!this.buckets.has(id)) {
      if (this.buckets.size >= SWEEP_ABOVE) this.sweep(t);
      this.buckets.set(id, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(t: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + (t - b.at) * this.perMs >= this.perMinute) this.buckets.delete(id);
    }
  }
}

/** Keys are bucketed by a hash of the bearer token: no lookup needed, and unknown keys are limited too. */
function keyBucket(authorization: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match ? createHash('sha256').update(match[1]).digest('base64url') : null;
}

export function rateLimitMiddleware(opts: { perKeyPerMinute: number; perIpPerMinute: number }): RequestHandler {
  const byKey = opts.perKeyPerMinute > 0 ? new TokenBuckets(opts.perKeyPerMinute) : null;
  const byIp = opts.perIpPerMinute > 0 ? new TokenBuckets(opts.perIpPerMinute) : null;
  return (req, res, next) => {
    if (EXEMPT_PATHS.has(req.path)) return next();
    const key = byKey ? keyBucket(req.header('authorization')) : null;
    const keyWait = byKey && key ? byKey.take(key) : 0;
    if (keyWait > 0) return sendProblem(res, tooMany(keyWait, `more than ${opts.perKeyPerMinute} requests per minute with this API key`));
    const ipWait = byIp ? byIp.take(req.ip ?? 'unknown') : 0;
    if (ipWait > 0) return sendProblem(res, tooMany(ipWait, `more than ${opts.perIpPerMinute} requests per minute from this address`));
    next();
  };
}

const tooMany = (retryAfterSeconds: number, what: string) =>
  new HttpProblem(429, 'Too many requests', `${what}; retry in ${retryAfterSeconds} s`, {}, { 'Retry-After': String(retryAfterSeconds) });
