/**
 * A loopback partner system: receives webhooks, checks their signatures (X-Signature by hand,
 * webhook-signature with the reference Standard Webhooks library), answers as told.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGongjianClient, type PartnerWebhook } from '../../clients/typescript';

export interface ReceivedDelivery {
  event: string;
  deliveryId: string;
  signatureValid: boolean;
  /** Whether `standardwebhooks` (the reference library) accepts webhook-id/-timestamp/-signature under `secret`. */
  standardValid: boolean;
  /** The raw body, to verify again under another secret (see `verifiesWith`). */
  raw: string;
  headers: Record<string, string | string[] | undefined>;
  /** The webhook body as the OpenAPI document describes it (generated client types), `case` left open per event. */
  body: Omit<PartnerWebhook, 'case'> & { case: Record<string, any> };
  answeredWith: number;
}

export interface PartnerSimulator {
  url: string;
  secret: string;
  received: ReceivedDelivery[];
  /** Decide the HTTP status of each delivery (default 200). */
  respond: (d: Omit<ReceivedDelivery, 'answeredWith'>) => number;
  stop(): Promise<void>;
}

export async function startPartnerSimulator(secret = `sim-secret-${Math.random().toString(36).slice(2)}-0123456789`): Promise<PartnerSimulator> {
  const sim: PartnerSimulator = { url: '', secret, received: [], respond: () => 200, stop: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const expected = Buffer.from(`sha256=${createHmac('sha256', sim.secret).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-signature'] ?? ''));
      const signatureValid = expected.length === given.length && timingSafeEqual(expected, given);
      const body = JSON.parse(raw);
      const d = {
        event: String(req.headers['x-event']), deliveryId: String(req.headers['x-delivery-id']), signatureValid,
        standardValid: verifiesWith(sim.secret, raw, req.headers), raw, headers: req.headers, body,
      };
      const status = sim.respond(d);
      sim.received.push({ ...d, answeredWith: status });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sim.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  sim.stop = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return sim;
}

/** Standard Webhooks verification by the reference library, as a partner would run it. */
export function verifiesWith(secret: string, raw: string, headers: Record<string, string | string[] | undefined>): boolean {
  try {
    new Webhook(secret, { format: 'raw' }).verify(raw, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v ?? '')])));
    return true;
  } catch {
    return false;
  }
}

/**
 * What a partner's system does through the API, with the typed client generated from the
 * OpenAPI document (clients/typescript): a route or body that drifts from the document no
 * longer compiles. Each call answers `{ data, error, response }`.
 */
export function partnerActions(apiUrl: string, key: string) {
  const api = createGongjianClient(apiUrl, key);
  const onCase = (id: string) => ({ params: { path: { id } } });
  return {
    api,
    accept: (id: string) => api.POST('/v1/service-requests/{id}/accept', { ...onCase(id), body: {} }),
    decline: (id: string, reason: string) => api.POST('/v1/service-requests/{id}/decline', { ...onCase(id), body: { reason } }),
    progress: (id: string, note: string) => api.POST('/v1/service-requests/{id}/progress', { ...onCase(id), body: { note } }),
    complete: (id: string, note: string, hoursSpent?: number) => api.POST('/v1/service-requests/{id}/complete', { ...onCase(id), body: { note, ...(hoursSpent === undefined ? {} : { hoursSpent }) } }),
    requestExtension: (id: string, extraTime: string, reason: string) => api.POST('/v1/service-requests/{id}/extension', { ...onCase(id), body: { extraTime, reason } }),
    answerReview: (id: string, department: 'tax' | 'housing' | 'natural_resources', approved: boolean, reason?: string) =>
      api.POST('/v1/registrations/{id}/reviews/{department}', { params: { path: { id, department } }, body: { approved, ...(reason ? { reason } : {}) } }),
    myOrders: () => api.GET('/v1/partners/me/orders', { params: { query: {} } }),
  };
}
