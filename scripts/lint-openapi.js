#!/usr/bin/env node
/**
 * `npm run lint:openapi`: build the OpenAPI document from the route declarations and lint
 * it with Redocly CLI's recommended rules (redocly.yaml); exits non-zero on any error or
 * warning. `npm test` runs the same lint (tests/api/openapiDocument.test.ts).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { buildDocument, serialize, root } = require('./openapi-document');

const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gj-openapi-')), 'openapi.json');
fs.writeFileSync(file, serialize(buildDocument()));
const r = spawnSync(path.join(root, 'node_modules/.bin/redocly'), ['lint', file, '--config', path.join(root, 'redocly.yaml'), '--max-problems', '1000'], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
