/**
 * The typed Gongjian client: `openapi-fetch` over the types generated from the API's
 * OpenAPI document (schema.d.ts; regenerate with `npm run client:generate` in the
 * repository root). Paths, parameters, bodies and answers are checked by the compiler:
 *
 *   const api = createGongjianClient('https://cases.example.org', process.env.GJ_KEY);
 *   const { data, error } = await api.POST('/v1/service-requests/{id}/accept', { params: { path: { id } }, body: {} });
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths, webhooks } from './schema';

export type { components, operations, paths, webhooks };
export type GongjianClient = Client<paths>;
/** The body of every webhook Gongjian sends to a partner. */
export type PartnerWebhook = components['schemas']['PartnerWebhook'];

export function createGongjianClient(baseUrl: string, apiKey?: string, options: Omit<ClientOptions, 'baseUrl'> = {}): GongjianClient {
  const headers = { ...(options.headers as Record<string, string> | undefined), ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  return createClient<paths>({ ...options, baseUrl, headers });
}
