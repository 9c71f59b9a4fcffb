/**
 * The OpenAPI document as served at /openapi.json: the routes' declarations (routing.ts),
 * plus what no single route says: tag descriptions, the partner webhooks, examples of the
 * main bodies, the CSV form of the report. Linted in `npm test` (tests/api/openapiDocument.test.ts)
 * and the source of the typed client in clients/typescript (npm run client:generate).
 */
import type { ApiRoutes } from '../routing';
import { summaryToCsv } from '../summaryCsv';
import { EXAMPLE_REPORT, REQUEST_EXAMPLES, RESPONSE_EXAMPLES } from './examples';
import { registerPartnerWebhooks } from './webhooks';

/** Every tag a route or webhook uses must be described here (the test and the lint refuse an undescribed one). */
export const TAGS: Record<string, string> = {
  ops: 'Health, readiness and the API description itself. No key needed.',
  auth: 'API keys (admin) and the audit log of every state-changing request.',
  partners: 'Partner organisations: service providers, departments, linked institutions; a partner key sees its own orders.',
  sla: 'SLA policies: the durations a case gets when it starts, most specific policy first.',
  'service requests': 'Resident requests (民生诉求): intake, dispatch to partners, fulfilment, follow-up, survey.',
  'care plans': 'Care plans (一人一策): weekly home visits checked in and out by the partner (EVV), late and missed visits, hours, installations.',
  registrations: 'Real-estate registration cases (不动产登记): completeness gate, parallel department reviews, certificate, delivery.',
  supervision: 'Supervisor views: case lists, timelines, open deadlines, summary reports (JSON or CSV).',
  codec: 'Temporal remote payload codec, so the Web UI and the CLI can show decrypted payloads to operators.',
  'partner webhooks': 'What Gongjian POSTs to a partner\'s webhookUrl (signed with its webhookSecret).',
  tracking: 'Public look-up of a case by its tracking code (网上查询): JSON and phone-sized pages; never personal data.',
  imports: 'Bulk intake from spreadsheets: needs lists (需求清单) and the partner roster, CSV or XLSX, with templates.',
  open311: 'The Open311 GeoReport v2 interface for third-party intake apps.',
  escalations: 'The escalation chain (逐级督办): open escalations by level, acknowledgement, and the contacts told at each level.',
  users: 'People: user accounts (admin) and console sessions (login, who am I, logout) with CSRF tokens.',
  'order links': 'One order from a link (/p/{token}): a partner without an account or a webhook acts on it from a phone.',
};

type Json = Record<string, any>;

export function apiDocument(routes: ApiRoutes, info: { title: string; version: string; description: string }): Json {
  const doc = routes.openApiDocument(info, registerPartnerWebhooks) as Json;
  doc.info.license = { name: 'Proprietary: all rights reserved', identifier: 'LicenseRef-Proprietary' };
  const used = new Set<string>();
  for (const op of operations(doc)) for (const t of op.tags ?? []) used.add(t);
  // An undescribed tag is listed bare, not refused: the API still starts, and the lint fails it.
  doc.tags = [...used].sort().map((name) => (TAGS[name] ? { name, description: TAGS[name] } : { name }));

  for (const op of operations(doc)) {
    const request = REQUEST_EXAMPLES[op.operationId];
    if (request) op.requestBody.content['application/json'].example = request;
    for (const [status, example] of Object.entries(RESPONSE_EXAMPLES[op.operationId] ?? {})) {
      op.responses[status].content['application/json'].example = example;
    }
  }
  const report = operations(doc).find((op) => op.operationId === 'getSummaryReport');
  if (report) {
    report.responses['200'].content['text/csv'] = {
      schema: { type: 'string', description: 'One row per group, then an `(all)` row; durations in seconds, shares as fractions (RFC 4180)' },
      example: summaryToCsv(EXAMPLE_REPORT as never),
    };
  }
  return doc;
}

function operations(doc: Json): Json[] {
  const items = [...Object.values(doc.paths ?? {}), ...Object.values(doc.webhooks ?? {})] as Json[];
  return items.flatMap((item) => ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]).map((m) => item[m]));
}
