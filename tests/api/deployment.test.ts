/**
 * The API behind a reverse proxy (TRUST_PROXY) and its metrics (METRICS_PORT, METRICS_BEARER):
 * docs/deployment.md.
 */
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { startExtraApi } from '../support/extraApi';
import { startTestSystem, type TestSystem } from '../support/system';

let sys: TestSystem;
beforeAll(async () => { sys = await startTestSystem(); });
afterAll(async () => { await sys?.stop(); });

/** An address of this machine that is not loopback: a proxy container's address, as the API sees it. */
function nonLoopbackAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

/** A request sent from a chosen local address (the "proxy"), so the API's peer is that address. */
function requestFrom(localAddress: string, url: string, opts: { method: string; headers: Record<string, string> }): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method, headers: opts.headers, localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TRUST_PROXY', () => {
  // Two residents' offices reach the API through the same CDN hop (203.0.113.50) and then the
  // host's own proxy: X-Forwarded-For is "<client>, <cdn>", the peer is loopback.
  const viaCdn = (client: string) => ({ 'X-Forwarded-For': `${client}, 203.0.113.50` });

  async function statusesOf(env: Record<string, string>) {
    const api = await startExtraApi(sys, { RATE_LIMIT_PER_IP_PER_MINUTE: '2', RATE_LIMIT_PER_MINUTE: '0', ...env });
    try {
      const a = [];
      for (let i = 0; i < 3; i++) a.push((await api.call('GET', '/v1/partners', { headers: viaCdn('198.51.100.1') })).status);
      const b = (await api.call('GET', '/v1/partners', { headers: viaCdn('198.51.100.2') })).status;
      return { a, b };
    } finally {
      await api.stop();
    }
  }

  it('with a hop count, gives two clients behind a proxy chain their own rate-limit buckets', async () => {
    expect(await statusesOf({ TRUST_PROXY: '2' })).toEqual({ a: [401, 401, 429], b: 401 });
  });

  it('with a CIDR list, trusts the proxies in it and no others', async () => {
    expect(await statusesOf({ TRUST_PROXY: 'loopback,203.0.113.0/24' })).toEqual({ a: [401, 401, 429], b: 401 });
    // The CDN is not in the list: its hop is the client, so both offices share its bucket.
    expect(await statusesOf({ TRUST_PROXY: 'loopback' })).toEqual({ a: [401, 401, 429], b: 429 });
  });

  it('with false, ignores X-Forwarded-For: every client is its peer', async () => {
    const api = await startExtraApi(sys, { RATE_LIMIT_PER_IP_PER_MINUTE: '2', TRUST_PROXY: 'false' });
    try {
      const statuses = [];
      for (const client of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) statuses.push((await api.call('GET', '/v1/partners', { headers: { 'X-Forwarded-For': client } })).status);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await api.stop();
    }
  });

  it('keeps the codec cookie Secure when a trusted proxy says the client came over https, and only then', async () => {
    // The proxy is another host (a compose service, 172.x): not loopback. Without such an
    // interface, the hop count stands in for it.
    const proxy = nonLoopbackAddress();
    const trust = proxy ? `${proxy}/32` : '1';
    const signIn = async (env: Record<string, string>) => {
      const api = await startExtraApi(sys, { HOST: proxy ? '0.0.0.0' : '127.0.0.1', ...env });
      try {
        const port = new URL(api.url).port;
        const res = await requestFrom(proxy ?? '127.0.0.1', `http://${proxy ?? '127.0.0.1'}:${port}/codec/session`, {
          method: 'POST', headers: { authorization: `Bearer ${sys.adminKey}`, 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '198.51.100.9' },
        });
        expect(res.status).toBe(200);
        return String(res.headers['set-cookie']);
      } finally {
        await api.stop();
      }
    };
    expect(await signIn({ TRUST_PROXY: trust })).toMatch(/; Secure/);
    // A peer that is not trusted cannot claim https.
    expect(await signIn({ TRUST_PROXY: 'false' })).not.toMatch(/Secure/);
  });
});

describe('/metrics', () => {
  it('moves to its own listener with METRICS_PORT (a 404 on the API port)', async () => {
    const api = await startExtraApi(sys, { METRICS_PORT: '0' });
    try {
      expect((await api.call('GET', '/metrics')).status).toBe(404);
      expect(api.metricsUrl).toBeDefined();
      const res = await fetch(`${api.metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('http_requests_total');
      expect((await fetch(`${api.metricsUrl}/v1/partners`)).status).toBe(404);
    } finally {
      await api.stop();
    }
  });

  it('needs the bearer token with METRICS_BEARER', async () => {
    const token = 'metrics-token-0123456789abcdef0123456789';
    const api = await startExtraApi(sys, { METRICS_BEARER: token });
    try {
      const anonymous = await api.call('GET', '/metrics');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
      expect((await api.call('GET', '/metrics', { key: `${token}x` })).status).toBe(401);
      const ok = await api.call('GET', '/metrics', { key: token });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('http_requests_total');
    } finally {
      await api.stop();
    }
  });

  it('is not served unguarded on the API port in production', async () => {
    const api = await startExtraApi(sys, { APP_ENV: 'production' });
    try {
      expect((await api.call('GET', '/metrics')).status).toBe(404);
      expect((await api.call('GET', '/healthz')).status).toBe(200);
    } finally {
      await api.stop();
    }
  });
});
