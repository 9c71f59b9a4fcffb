/**
 * Intake from files (需求清单): the needs list and the partner roster as CSV or .xlsx, all or
 * nothing, every bad row named; templates to fill in. docs/intake.md.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { createImport, getImport, type ImportRow, importPartners, restartImport } from '../../db/imports';
import { issueTrackingCodes } from '../../db/trackingCodes';
import { importCaseIds, runNeedsListImport, runningHere } from '../../intake/importRunner';
import { NEEDS_COLUMNS, needsListRows } from '../../intake/needsList';
import { PARTNER_COLUMNS, partnerRosterRows } from '../../intake/partnerRoster';
import { CSV_TYPE, readTable, XLSX_TYPE } from '../../intake/spreadsheet';
import { templateFile } from '../../intake/templates';
import { webhookSecretBoxFor, type WebhookSecretBox } from '../../crypto/secretBox';
import { inCommunityScope } from '../auth';
import type { ApiDeps } from '../deps';
import { checkPartnerCreate } from '../partnerScope';
import { webhookUrlRefusal } from './partners';
import { badRequest, type FieldError, HttpProblem, notFound } from '../problem';
import type { ApiRoutes } from '../routing';
import { IdParam } from '../schemas';
import { z } from '../zod';

const ImportView = z.object({
  id: z.string(), kind: z.enum(['service-requests', 'partners']), status: z.enum(['running', 'done', 'failed']),
  rows: z.number().int(), created: z.number().int(), caseIds: z.array(z.string()),
  partnerIds: z.array(z.string()).optional(), trackingCodes: z.record(z.string(), z.string()).optional(), error: z.string().optional(),
}).openapi('Import');
const DryRunView = z.object({ dryRun: z.literal(true), rows: z.number().int(), status: z.literal('valid') }).openapi('ImportDryRun');
const ImportQuery = z.object({ dryRun: z.enum(['true', 'false']).optional() }).strict();
const UPLOAD_ERRORS = {
  400: { description: 'a bad file or row: errors name each as `row N.column`; nothing was created' },
  413: { description: 'over 10 MB, over 10,000 data rows, or a workbook that inflates too far' },
  415: { description: 'not text/csv or an .xlsx workbook' },
};
/** A stalled import (its process died) is resumed by posting the file again after this long without progress. */
const STALLED_MS = 60_000;
const MAX_LISTED_ERRORS = 1000;

function upload(req: Request): { file: Buffer; format: 'csv' | 'xlsx' } {
  if (!Buffer.isBuffer(req.body)) throw new HttpProblem(415, 'Unsupported media type', `send the file as ${CSV_TYPE} (UTF-8) or ${XLSX_TYPE}`);
  return { file: req.body, format: req.is(XLSX_TYPE) ? 'xlsx' : 'csv' };
}

function rejectRows(errors: FieldError[]): never {
  const rows = new Set(errors.map((e) => e.path.split('.')[0])).size;
  throw badRequest(`${errors.length} problem(s) in ${rows} row(s); nothing was imported`,
    errors.length > MAX_LISTED_ERRORS ? [...errors.slice(0, MAX_LISTED_ERRORS), { path: 'body', message: `and ${errors.length - MAX_LISTED_ERRORS} more` }] : errors);
}

export function importRoutes(routes: ApiRoutes, { pool, config, log }: ApiDeps): void {
  let box: WebhookSecretBox | null = null;
  const secrets = () => (box ??= webhookSecretBoxFor(config)); // built on first use, as in the partner routes
  const view = async (i: ImportRow) => ({
    id: i.id, kind: i.kind as 'service-requests' | 'partners', status: i.status, rows: i.rows, created: i.created,
    caseIds: i.kind === 'service-requests' ? i.caseIds : [],
    ...(i.kind === 'partners' ? { partnerIds: i.caseIds } : {}),
    ...(i.kind === 'service-requests' && i.status === 'done' ? { trackingCodes: Object.fromEntries(await issueTrackingCodes(pool, i.caseIds, 'service_request')) } : {}),
    ...(i.error ? { error: i.error } : {}),
  });

  routes.add({
    method: 'post', path: '/v1/imports/service-requests', operationId: 'importServiceRequests', tag: 'imports', roles: ['staff', 'supervisor'],
    summary: 'Import a needs list (需求清单): body text/csv or .xlsx, Chinese or English headers; ?dryRun=true only checks',
    query: ImportQuery,
    responses: {
      202: { description: 'every row is valid; the cases are being opened', schema: ImportView },
      200: { description: 'a dry run that found no problem, or the same file posted again (the first import)', schema: ImportView.or(DryRunView) },
      ...UPLOAD_ERRORS,
    },
    handler: async ({ req, query, principal }) => {
      const { file, format } = upload(req);
      const table = await readTable(file, format);
      const { rows, errors } = needsListRows(table);
      if (errors.length) rejectRows(errors);
      const outside = rows.filter((r) => !inCommunityScope(principal, r.body.resident.community));
      if (outside.length) {
        throw new HttpProblem(403, 'Forbidden', `${outside.length} row(s) are outside the communities of your key; nothing was imported`, {
          errors: outside.slice(0, MAX_LISTED_ERRORS).map((r) => ({ path: `row ${r.row}.community`, message: `your key may not open cases in community ${r.body.resident.community}` })),
        });
      }
      if (query.dryRun === 'true') return { status: 200, body: { dryRun: true, rows: rows.length, status: 'valid' } };
      const fileHash = createHash('sha256').update(file).digest('hex');
      const { row, first } = await createImport(pool, {
        id: randomUUID(), keyId: principal.keyId, kind: 'service-requests', fileHash, status: 'running', rows: rows.length,
        caseIds: importCaseIds(principal, fileHash, rows),
      });
      const stalled = row.status === 'failed' || (row.status === 'running' && !runningHere.has(row.id) && Date.now() - row.updatedAt.getTime() > STALLED_MS);
      if (first || stalled) {
        if (stalled) await restartImport(pool, row.id);
        void runNeedsListImport({ routes, pool, log, importId: row.id, principal, fileHash, rows, concurrency: config.IMPORT_CONCURRENCY });
      }
      if (!first) return { status: 200, body: await view({ ...row, status: stalled ? 'running' : row.status }) };
      return { status: 202, body: await view(row), headers: { Location: `/v1/imports/${row.id}` } };
    },
  });

  routes.add({
    method: 'post', path: '/v1/imports/partners', operationId: 'importPartners', tag: 'imports', roles: ['admin', 'supervisor'],
    summary: 'Import the partner roster: body text/csv or .xlsx; ?dryRun=true only checks',
    query: ImportQuery,
    responses: {
      202: { description: 'every row was valid; the partners are registered', schema: ImportView },
      200: { description: 'a dry run that found no problem, or the same file posted again (the first import)', schema: ImportView.or(DryRunView) },
      ...UPLOAD_ERRORS,
    },
    handler: async ({ req, query, principal }) => {
      const { file, format } = upload(req);
      const { rows, errors } = partnerRosterRows(await readTable(file, format));
      for (const r of rows) {
        checkPartnerCreate(principal, r.body); // a supervisor limited to communities registers partners of its own only
        const refused = webhookUrlRefusal(config, r.body.webhookUrl);
        if (refused) errors.push({ path: `row ${r.row}.webhookUrl`, message: refused });
      }
      if (errors.length) rejectRows(errors);
      if (query.dryRun === 'true') return { status: 200, body: { dryRun: true, rows: rows.length, status: 'valid' } };
      const fileHash = createHash('sha256').update(file).digest('hex');
      const partners = rows.map((r) => ({ id: derivedId(`partner\0${principal.keyId}\0${fileHash}\0${r.row}`), fields: r.body }));
      const { row, first } = await importPartners(pool, { id: randomUUID(), keyId: principal.keyId, fileHash }, partners, secrets());
      return { status: first ? 202 : 200, body: await view(row), ...(first ? { headers: { Location: `/v1/imports/${row.id}` } } : {}) };
    },
  });

  routes.add({
    method: 'get', path: '/v1/imports/:id', operationId: 'getImport', tag: 'imports', roles: ['admin', 'supervisor', 'staff'],
    summary: 'An import and its progress: rows, cases opened so far, their ids (and tracking codes when done)',
    params: IdParam,
    responses: { 200: { description: 'the import', schema: ImportView }, 404: { description: 'unknown import' } },
    handler: async ({ params, principal }) => {
      const found = await getImport(pool, params.id);
      // A key limited to communities sees its own imports only.
      if (!found || (principal.communities && found.keyId !== principal.keyId)) throw notFound(`import ${params.id}`);
      return { status: 200, body: await view(found) };
    },
  });

  routes.add({
    method: 'get', path: '/v1/imports/:kind/template', operationId: 'importTemplate', tag: 'imports', roles: ['admin', 'supervisor', 'staff'],
    summary: 'An empty template to fill in: ?format=csv|xlsx, ?lang=zh-CN|en (header language)',
    params: z.object({ kind: z.enum(['service-requests', 'partners']) }).strict(),
    query: z.object({ format: z.enum(['csv', 'xlsx']).default('xlsx'), lang: z.enum(['zh-CN', 'en']).default('zh-CN') }).strict(),
    responses: { 200: { description: 'the template file' }, 404: { description: 'unknown kind' } },
    handler: async ({ params, query }) => templateFile(params.kind === 'partners' ? PARTNER_COLUMNS : NEEDS_COLUMNS, params.kind, query.format, query.lang),
  });
}

/** A name-based UUID (version 8, from SHA-256), so a re-run of the same roster names the same partners. */
function derivedId(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
