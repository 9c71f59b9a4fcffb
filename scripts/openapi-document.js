'use strict';
/**
 * The API's OpenAPI document, built from the compiled route declarations (dist/, so run
 * scripts/build.js first): the same document GET /openapi.json serves. Building the
 * routes touches neither Postgres nor Temporal.
 */
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function buildDocument() {
  const { buildRoutes, API_INFO } = require(path.join(root, 'dist/api/app'));
  const { apiDocument } = require(path.join(root, 'dist/api/openapi/document'));
  const { loadConfig } = require(path.join(root, 'dist/config'));
  const { createLogger } = require(path.join(root, 'dist/logger'));
  const routes = buildRoutes({ config: loadConfig({ APP_ENV: 'test' }), pool: {}, temporal: {}, log: createLogger('silent', 'openapi') });
  return apiDocument(routes, API_INFO);
}

/** The committed form: 2-space JSON and a final newline, so diffs stay readable. */
const serialize = (doc) => `${JSON.stringify(doc, null, 2)}\n`;

module.exports = { buildDocument, serialize, root };
