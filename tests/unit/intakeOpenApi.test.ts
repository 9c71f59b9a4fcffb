/** The intake routes in the OpenAPI document: tracking codes in intake answers, path parameters declared. */
import { API_INFO, buildRoutes } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { TEST_PAYLOAD_ENCRYPTION_KEYS } from '../support/testKeys';

const doc = buildRoutes({
  config: loadConfig({ APP_ENV: 'test', PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_ENCRYPTION_KEYS }),
  pool: {} as never, temporal: {} as never, log: createLogger('silent', 'openapi'),
}).openApiDocument(API_INFO) as any;

it('documents trackingCode in the answers of both intake routes', () => {
  const schemaOf = (path: string) => {
    // The intake view, extended: allOf [the view, { trackingCode }].
    const s = doc.paths[path].post.responses['201'].content['application/json'].schema;
    return Object.assign({}, ...(s.allOf ?? [s]).map((p: any) => (p.$ref ? doc.components.schemas[p.$ref.split('/').pop()] : p)));
  };
  for (const path of ['/v1/service-requests', '/v1/registrations']) {
    expect(schemaOf(path)).toMatchObject({ properties: { trackingCode: { type: 'string' } }, required: ['trackingCode'] });
  }
});

it('declares every path parameter of the intake routes', () => {
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    if (!/^\/(v1\/track|track|v1\/imports|open311)/.test(path)) continue;
    const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const op of Object.values<any>(item)) {
      const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
      expect({ path, declared: declared.sort() }).toEqual({ path, declared: names.sort() });
    }
  }
});
