#!/usr/bin/env node
// Compile src/ to dist/ and copy the SQL migrations beside the compiled code.
'use strict';
const { execFileSync } = require('node:child_process');
const { cpSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
mkdirSync(join(root, 'dist/db/migrations'), { recursive: true });
cpSync(join(root, 'src/db/migrations'), join(root, 'dist/db/migrations'), { recursive: true });
// The console's browser bundle (esbuild), served from dist/console-web.
require('./build-console').buildConsole().catch((err) => { console.error(err.message); process.exit(1); });
