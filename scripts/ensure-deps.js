#!/usr/bin/env node
/**
 * npm `prestart` / `pretest`: installs dependencies with `npm ci` when node_modules is
 * missing or older than package-lock.json (e.g. after a pull), so `npm start` and
 * `npm test` work on a fresh checkout. Only stats two files when there is nothing to do.
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const projectRoot = path.resolve(__dirname, '..');
const lockFile = path.join(projectRoot, 'package-lock.json');
// npm writes this after every successful install; its mtime says when that was.
const installedLock = path.join(projectRoot, 'node_modules', '.package-lock.json');

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

function installReason() {
  const wanted = mtimeMs(lockFile);
  if (wanted === null) return null; // no lock file: nothing `npm ci` could install from
  const installed = mtimeMs(installedLock);
  if (installed === null) return 'node_modules is missing';
  if (installed < wanted) return 'package-lock.json changed since the last install';
  return null;
}

function main() {
  const reason = installReason();
  if (reason === null) return;
  console.error(`[ensure-deps] ${reason}: running npm ci`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci'], { cwd: projectRoot, stdio: 'inherit' });
  if (result.error) {
    console.error(`[ensure-deps] could not run npm ci: ${result.error.message}. Is npm on PATH? Run \`npm ci\` yourself.`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error(
      `[ensure-deps] npm ci failed (${result.signal ? `killed by ${result.signal}` : `exit code ${result.status}`}); ` +
        'fix the error above (network, registry access, lock file out of sync with package.json) and run `npm ci` again.',
    );
    process.exit(result.status || 1);
  }
}

main();
