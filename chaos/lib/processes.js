'use strict';
/**
 * The system's own processes, started the way an operator starts them (`node dist/worker.js`,
 * `node dist/server.js`), each with its log file, so a scenario can SIGKILL them.
 */
const { spawn } = require('node:child_process');
const { existsSync, openSync, closeSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** On Linux, `setpriv --pdeathsig KILL` makes the kernel kill the child if this driver dies first. */
function withParentDeathSignal(file, args) {
  if (process.platform !== 'linux') return { file, args };
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((c) => existsSync(c));
  return setpriv ? { file: setpriv, args: ['--pdeathsig', 'KILL', '--', file, ...args] } : { file, args };
}

/**
 * @param {{ name: string, script: string, env: Record<string,string>, logFile: string }} opts
 */
function startNodeProcess({ name, script, env, logFile }) {
  const fd = openSync(logFile, 'a');
  const cmd = withParentDeathSignal(process.execPath, [script]);
  const child = spawn(cmd.file, cmd.args, { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const startedAt = Date.now();
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => { exit = { code, signal }; resolve(exit); }));
  const proc = {
    name, child, pid: child.pid, startedAt, logFile, exited,
    get alive() { return exit === null; },
    get exit() { return exit; },
    /** SIGKILL: no shutdown hook runs, in-flight work is simply lost, as in a crash. */
    async kill(signal = 'SIGKILL') {
      if (exit) return exit;
      child.kill(signal);
      return exited;
    },
    /** SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 15_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try { return await exited; } finally { clearTimeout(timer); }
    },
    logTail(chars = 3000) {
      try { const t = readFileSync(logFile, 'utf8'); return t.slice(-chars); } catch { return ''; }
    },
  };
  return proc;
}

/** Wait until `probe()` is true; fail with the process's log tail if it exits or the time runs out. */
async function waitFor(proc, probe, { timeoutMs = 60_000, what = 'ready' } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.alive) throw new Error(`${proc.name} exited (${JSON.stringify(proc.exit)}) before it was ${what}:\n${proc.logTail()}`);
    if (await probe().catch(() => false)) return (Date.now() - proc.startedAt) / 1000;
    await sleep(100);
  }
  throw new Error(`${proc.name} not ${what} within ${timeoutMs / 1000} s:\n${proc.logTail()}`);
}

/** The worker logs `worker running` once it polls its task queue. */
async function startWorker({ dist, env, logFile }) {
  const proc = startNodeProcess({ name: 'worker', script: join(dist, 'worker.js'), env, logFile });
  const offset = safeSize(logFile);
  proc.readySeconds = await waitFor(proc, async () => readFileSync(logFile, 'utf8').slice(offset).includes('worker running'), { timeoutMs: 90_000 });
  return proc;
}

async function startApiProcess({ dist, env, logFile, url }) {
  const proc = startNodeProcess({ name: 'api', script: join(dist, 'server.js'), env, logFile });
  proc.readySeconds = await waitFor(proc, async () => (await fetch(`${url}/healthz`)).ok, { timeoutMs: 60_000 });
  return proc;
}

function safeSize(file) {
  try { return readFileSync(file, 'utf8').length; } catch { return 0; }
}

module.exports = { startNodeProcess, startWorker, startApiProcess, waitFor, sleep };
