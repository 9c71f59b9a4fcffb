/**
 * Open311 GeoReport v2 under /open311/v2 (JSON and XML), plus mySociety's
 * servicerequestupdates. A POST opens a service request through the same handler as
 * POST /v1/service-requests (channel online); GET answers carry no personal data.
 * docs/intake.md.
 */
import type { Request, Response } from 'express';
import { isClosedStatus, type PublicRequestRow, publicRequests, requestUpdates } from '../../db/open311';
import { intakeRequest } from '../../intake/importRunner';
import { groupedCode } from '../../intake/trackingCode';
import { type Lang, phrase, pickLang, STATUS_LABELS, STEP_LABELS } from '../../intake/trackMessages';
import { errorReply, type Format, list, Open311Error, open311Error, serviceDefinitionReply, w3 } from '../../open311/format';
import { isServiceCode, serviceDefinition, serviceName, services } from '../../open311/services';
import { getPartner } from '../../db/partners';
import type { ServiceRequestState } from '../../domain/serviceRequest';
import * as m from '../../workflows/messages';
import { createAuthenticator } from '../auth';
import { queryState } from '../workflowCalls';
import type { ApiDeps } from '../deps';
import { z } from '../zod';
import type { ApiRoutes, Reply } from '../routing';
import { CreateServiceRequest } from '../schemas';

const BASE = '/open311/v2';
const MAX_RESULTS = 1000;
const NINETY_DAYS = 90 * 86_400_000;
/** Our field -> the form field a client sent, so an error names what the client can fix. */
const FORM_FIELD: Record<string, string> = {
  'resident.name': 'first_name/last_name', 'resident.phone': 'phone', 'resident.community': 'attribute[community]',
  'resident.compound': 'attribute[compound]', 'resident.grid': 'attribute[grid]', 'resident.address': 'address_string',
  category: 'service_code', description: 'description', urgency: 'attribute[urgency]',
};
const UPDATE_STATUS: Record<string, string> = { accepted: 'in_progress', progress: 'in_progress', completed: 'fixed', follow_up: 'fixed', closed: 'closed', cancelled: 'closed', survey: 'fixed', survey_expired: 'closed' };

const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** GeoReport v2 answers in the format the path names; its errors are its own array, not problem documents. */
const OPEN311_TYPES = ['application/json', 'application/xml'] as const;
const Open311Errors = z.array(z.object({ code: z.number().int(), description: z.string() })).openapi('Open311Errors');

export function open311Routes(routes: ApiRoutes, { pool, config, temporal }: ApiDeps): void {
  const authenticate = createAuthenticator(pool, config.adminApiKeys, config.API_KEY_CACHE_MS);
  const langOf = (req: Request) => pickLang(req.query.lang, req.header('accept-language'));

  /** Every Open311 route: the format from the path, the jurisdiction, errors in the spec's shape. */
  function add(method: 'get' | 'post', path: string, summary: string, operationId: string, run: (req: Request, res: Response, format: Format) => Promise<Reply>): void {
    routes.add({
      method, path: `${BASE}/${path}`, operationId, tag: 'open311', roles: 'public', summary,
      responses: {
        200: { description: 'JSON or XML as GeoReport v2 writes it', content: OPEN311_TYPES },
        400: { description: 'errors: [{ code, description }]', schema: Open311Errors, content: OPEN311_TYPES },
        403: { description: 'POST: no or wrong api_key', schema: Open311Errors, content: OPEN311_TYPES },
        404: { description: 'unknown id, format or jurisdiction', schema: Open311Errors, content: OPEN311_TYPES },
      },
      handler: async ({ req, res }) => {
        const format: Format = req.params.format === 'xml' ? 'xml' : 'json';
        try {
          if (req.params.format !== 'json' && req.params.format !== 'xml') throw open311Error(404, `format ${req.params.format} is not served: use .json or .xml`);
          const nul = [req.query, req.body ?? {}, req.params].flatMap((o) => Object.entries(o as Record<string, unknown>)).find(([k, v]) => `${k}${v}`.includes('\u0000'));
          if (nul) throw open311Error(400, `${nul[0]} must not contain the NUL character (U+0000)`);
          const jurisdiction = str(req.query.jurisdiction_id) ?? str((req.body as Record<string, unknown> | undefined)?.jurisdiction_id);
          if (jurisdiction !== undefined && jurisdiction !== config.OPEN311_JURISDICTION) throw open311Error(404, `jurisdiction_id ${jurisdiction} is not served here`);
          return await run(req, res, format);
        } catch (err) {
          return errorReply(format, err);
        }
      },
    });
  }

  add('get', 'services.:format', 'Open311: the services (the nine categories)', 'open311Services', async (req, _res, format) =>
    list(format, 'services', services(langOf(req))));

  add('get', 'services/:code.:format', 'Open311: a service definition (attributes community, compound, grid, urgency)', 'open311ServiceDefinition', async (req, _res, format) => {
    const code = String(req.params.code);
    if (!isServiceCode(code)) throw open311Error(404, `service_code ${code} does not exist`);
    return serviceDefinitionReply(format, serviceDefinition(code, langOf(req)));
  });

  add('post', 'requests.:format', 'Open311: file a request (form-encoded; api_key of a staff or supervisor key)', 'open311CreateRequest', async (req, res, format) => {
    if (!req.is('application/x-www-form-urlencoded')) throw open311Error(400, 'send the request as application/x-www-form-urlencoded');
    const form = (req.body ?? {}) as Record<string, unknown>;
    const apiKey = str(form.api_key) ?? str(req.query.api_key);
    if (!apiKey) throw open311Error(403, 'api_key is required to file a request');
    const principal = await authenticate(`Bearer ${apiKey}`);
    res.locals.principal = principal;
    if (principal.role !== 'staff' && principal.role !== 'supervisor') throw open311Error(403, 'api_key must be a staff or supervisor key');
    const code = str(form.service_code);
    if (!code) throw open311Error(400, 'service_code is required');
    if (!isServiceCode(code)) throw open311Error(400, `service_code ${code} does not exist; GET services to list them`);
    const first = str(form.first_name) ?? '';
    const last = str(form.last_name) ?? '';
    // Chinese names are written family name first, without a space.
    const name = /[\u3400-\u9fff]/.test(first + last) ? `${last}${first}` : `${first} ${last}`.trim();
    const urgency = str(form['attribute[urgency]']);
    const candidate = {
      resident: {
        name: name || undefined, phone: str(form.phone), community: str(form['attribute[community]']),
        ...(str(form['attribute[compound]']) ? { compound: str(form['attribute[compound]']) } : {}),
        ...(str(form['attribute[grid]']) ? { grid: str(form['attribute[grid]']) } : {}),
        ...(str(form.address_string) ? { address: str(form.address_string) } : {}),
      },
      category: code, description: str(form.description), urgency: urgency ?? 'normal', channel: 'online',
    };
    const parsed = CreateServiceRequest.safeParse(candidate);
    if (!parsed.success) {
      throw new Open311Error(400, parsed.error.issues.map((i) => {
        const field = FORM_FIELD[i.path.join('.')] ?? i.path.join('.');
        return { code: 400, description: `${field}: ${i.code === 'invalid_type' ? 'is required' : i.message}` };
      }));
    }
    const intake = routes.routes.find((r) => r.method === 'post' && r.path === '/v1/service-requests')!;
    const reply = await intake.handler({ body: parsed.data, query: undefined, params: undefined, principal, req: intakeRequest({}), res });
    const opened = reply.body as { id: string; trackingCode?: string };
    res.locals.caseId = opened.id;
    const lang = langOf(req);
    const base = config.PUBLIC_BASE_URL?.replace(/\/$/, '') ?? `${req.protocol}://${req.get('host')}`;
    const notice = opened.trackingCode
      ? lang === 'en' ? `Tracking code ${groupedCode(opened.trackingCode)}: ${base}/track/${opened.trackingCode}` : `查询码 ${groupedCode(opened.trackingCode)}，进度见 ${base}/track/${opened.trackingCode}`
      : null;
    return list(format, 'requests', [{ service_request_id: opened.id, service_notice: notice }], 201);
  });

  add('get', 'requests.:format', 'Open311: requests (no personal data); filters service_request_id, service_code, start_date, end_date, status', 'open311Requests', async (req, _res, format) => {
    const q = req.query as Record<string, unknown>;
    const ids = str(q.service_request_id)?.split(',').map((s) => s.trim()).filter(Boolean);
    if (ids && (ids.length > MAX_RESULTS || ids.some((id) => id.length > 100))) throw open311Error(400, 'service_request_id: at most 1000 ids of at most 100 characters');
    const codes = str(q.service_code)?.split(',').map((s) => s.trim());
    const unknown = codes?.find((c) => !isServiceCode(c));
    if (unknown !== undefined) throw open311Error(400, `service_code ${unknown} does not exist`);
    const statuses = str(q.status)?.split(',').map((s) => s.trim());
    if (statuses?.some((s) => s !== 'open' && s !== 'closed')) throw open311Error(400, 'status must be open or closed (comma-separated)');
    const window = ids ? {} : dateWindow(q.start_date, q.end_date, NINETY_DAYS);
    const rows = await publicRequests(pool, { ids, codes, statuses: statuses ? [...new Set(statuses)] : undefined, ...window, limit: MAX_RESULTS });
    return list(format, 'requests', rows.map((r) => publicRequest(r, langOf(req))));
  });

  add('get', 'requests/:id.:format', 'Open311: one request (no personal data)', 'open311Request', async (req, _res, format) => {
    const id = String(req.params.id);
    const rows = id.length <= 100 ? await publicRequests(pool, { ids: [id], limit: 1 }) : [];
    if (!rows[0] && id.length <= 100) {
      // Filed a moment ago, before the worker wrote the read model: the workflow knows it.
      const live = await queryState(temporal, m.serviceRequestWorkflowId(id), m.getServiceRequestState);
      if (live) rows.push(await liveRequestRow(pool, live));
    }
    if (!rows[0]) throw open311Error(404, `service_request_id ${id} does not exist`);
    return list(format, 'requests', [publicRequest(rows[0], langOf(req))]);
  });

  add('get', 'servicerequestupdates.:format', "mySociety's extension: status changes in a window (start_date, end_date; default the last 24 hours)", 'open311Updates', async (req, _res, format) => {
    const q = req.query as Record<string, unknown>;
    const { from, to } = dateWindow(q.start_date, q.end_date, 86_400_000);
    const lang = langOf(req);
    const updates = await requestUpdates(pool, Object.keys(STEP_LABELS), from!, to!, MAX_RESULTS);
    return list(format, 'updates', updates.map((u) => ({
      update_id: `${u.caseId}:${u.seq}`, service_request_id: u.caseId, status: UPDATE_STATUS[u.type] ?? 'open',
      updated_datetime: w3(u.at), description: phrase(STEP_LABELS, u.type, lang), external_status_code: u.type, media_url: null,
    })));
  });
}

/** The public face of a request: no names, phones or description; the address is community and compound. */
function publicRequest(r: PublicRequestRow, lang: Lang) {
  const closed = isClosedStatus(r.status);
  return {
    service_request_id: r.id, status: closed ? 'closed' : 'open', status_notes: `${phrase(STATUS_LABELS, r.status, lang)} (${r.status})`,
    service_name: serviceName(r.category, lang), service_code: r.category, agency_responsible: r.partnerName, service_notice: null,
    requested_datetime: w3(r.createdAt), updated_datetime: w3(closed ? (r.closedAt ?? r.updatedAt) : r.updatedAt),
    expected_datetime: closed ? null : w3(r.expected), address: [r.community, r.compound].filter(Boolean).join(' ') || null,
  };
}

async function liveRequestRow(pool: import('pg').Pool, s: ServiceRequestState): Promise<PublicRequestRow> {
  const due = Object.values(s.deadlines).filter((d): d is string => typeof d === 'string').sort()[0];
  return {
    id: s.id, status: s.status, category: s.category, community: s.resident.community, compound: s.resident.compound ?? null,
    partnerName: s.assignedPartnerId ? (await getPartner(pool, s.assignedPartnerId))?.name ?? null : null,
    createdAt: new Date(s.createdAt), updatedAt: new Date(s.createdAt), closedAt: s.closedAt ? new Date(s.closedAt) : null,
    expected: due ? new Date(due) : null,
  };
}

/** start_date/end_date (w3 datetimes), defaulting to the last `span`, never longer than 90 days. */
function dateWindow(start: unknown, end: unknown, span: number): { from?: string; to?: string } {
  const parse = (v: unknown, name: string) => {
    const s = str(v);
    if (s === undefined) return undefined;
    const t = Date.parse(s);
    if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t) || t < -62135596800000 || t > 253402300799999) throw open311Error(400, `${name} must be a w3 datetime such as 2026-01-01T00:00:00Z`);
    return t;
  };
  let from = parse(start, 'start_date');
  let to = parse(end, 'end_date');
  if (from === undefined && to === undefined) { to = Date.now(); from = to - span; }
  else if (from === undefined) from = to! - span;
  else if (to === undefined) to = Math.min(from + NINETY_DAYS, 253402300799999);
  if (to! < from) throw open311Error(400, 'end_date must not be before start_date');
  if (to! - from > NINETY_DAYS) throw open311Error(400, 'start_date to end_date may not span more than 90 days');
  return { from: new Date(from).toISOString(), to: new Date(to!).toISOString() };
}
