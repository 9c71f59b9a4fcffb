/**
 * GeoReport v2 answers as the specification writes them: JSON arrays, or XML with the
 * spec's element names (built by fast-xml-parser); errors as [{ code, description }].
 */
import { XMLBuilder } from 'fast-xml-parser';
import { HttpProblem } from '../api/problem';
import type { Reply } from '../api/routing';

export type Format = 'json' | 'xml';

/** Root and item element of each answer in XML. */
export const XML_NAMES = {
  services: ['services', 'service'],
  requests: ['service_requests', 'request'],
  updates: ['service_requests_updates', 'request_update'],
  errors: ['errors', 'error'],
} as const;

const builder = new XMLBuilder({ format: true, suppressEmptyNode: false, ignoreAttributes: true });
const XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n';

/** A spec error: HTTP status and one or more `{ code, description }`. */
export class Open311Error extends Error {
  constructor(readonly status: 400 | 403 | 404 | 429 | 500 | 503, readonly errors: { code: number; description: string }[]) {
    super(errors.map((e) => e.description).join('; '));
  }
}
export const open311Error = (status: 400 | 403 | 404, description: string) => new Open311Error(status, [{ code: status, description }]);

/** w3 format as the spec's examples write it: 2010-01-01T00:00:00Z. */
export const w3 = (d: Date | null | undefined) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null);

export function list(format: Format, kind: keyof typeof XML_NAMES, items: object[], status = 200): Reply {
  if (format === 'json') return { status, body: JSON.stringify(items), contentType: 'application/json; charset=utf-8' };
  const [root, item] = XML_NAMES[kind];
  return { status, body: XML_HEAD + builder.build({ [root]: { [item]: items.map(forXml) } }), contentType: 'application/xml; charset=utf-8' };
}

/** The service definition is one object in JSON; in XML its lists nest as attributes/attribute and values/value. */
export function serviceDefinitionReply(format: Format, def: { service_code: string; attributes: { values?: object[] }[] }): Reply {
  if (format === 'json') return { status: 200, body: JSON.stringify(def), contentType: 'application/json; charset=utf-8' };
  const xml = {
    service_definition: {
      service_code: def.service_code,
      attributes: { attribute: def.attributes.map(({ values, ...a }) => ({ ...forXml(a), ...(values ? { values: { value: values } } : {}) })) },
    },
  };
  return { status: 200, body: XML_HEAD + builder.build(xml), contentType: 'application/xml; charset=utf-8' };
}

/** XML has no null: an empty element says "no value". */
function forXml(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null ? '' : v]));
}

/** Any failure inside an Open311 route, in the spec's error shape. */
export function errorReply(format: Format, err: unknown): Reply {
  let e: Open311Error;
  if (err instanceof Open311Error) e = err;
  else if (err instanceof HttpProblem) {
    const status = err.status === 401 ? 403 : err.status;
    const fieldErrors = (err.extra.errors as { path: string; message: string }[] | undefined) ?? [];
    e = new Open311Error(status as Open311Error['status'], fieldErrors.length
      ? fieldErrors.map((f) => ({ code: status, description: `${f.path}: ${f.message}` }))
      : [{ code: status, description: err.detail }]);
  } else throw err;
  const reply = list(format, 'errors', e.errors, e.status);
  return reply;
}
