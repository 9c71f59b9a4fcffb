#!/usr/bin/env node
/**
 * The browser tests drive Debian's own Chromium (never a browser build downloaded by a test
 * library). When /usr/bin/chromium is missing and we are root, install it with apt, with the
 * CJK fonts so Chinese labels render (and screenshots are readable). Waits for another apt to
 * finish instead of failing on its lock. Exit 0 when the browser is there afterwards.
 * Usage: node scripts/ensure-browser.js   (also called from the test global set-up)
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const PACKAGES = ['chromium', 'fonts-noto-cjk'];

function have() {
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function apt(args) {
  // -o DPkg::Lock::Timeout waits for another apt/dpkg (another helper, unattended upgrades) instead of failing.
  return spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function main() {
  if (have()) return 0;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.error(`[ensure-browser] ${CHROMIUM} is missing; install it as root: apt-get install -y ${PACKAGES.join(' ')} (or set CHROMIUM_PATH)`);
    return 1;
  }
  console.error(`[ensure-browser] ${CHROMIUM} is missing: apt-get install ${PACKAGES.join(' ')}`);
  const update = apt(['update']);
  if (update.status !== 0) console.error('[ensure-browser] apt-get update failed; trying the install with the lists there are');
  const install = apt(['install', '-y', '--no-install-recommends', ...PACKAGES]);
  if (install.status !== 0 || !have()) {
    console.error('[ensure-browser] could not install Chromium; see the apt output above');
    return 1;
  }
  return 0;
}

if (require.main === module) process.exit(main());
module.exports = { ensureBrowser: main, CHROMIUM };
