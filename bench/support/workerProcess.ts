/**
 * A production worker process for memory benches: the command line of `npm run worker`
 * (`node <heap flags> dist/worker.js`) with a prebuilt workflow bundle, as in the Docker
 * image, and its memory from /proc/<pid>/status (bench/workerMemory.bench.ts,
 * bench/carePlanMemory.bench.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { out, PROJECT_ROOT } from './services';

export const WORKER_JS = join(PROJECT_ROOT, 'dist/worker.js');
export const mb = (kb: number) => kb / 1024;

/** From /proc/<pid>/status: resident set, its peak, and its anonymous (heap) and file-backed (code) parts. */
export function memoryOf(pid: number): { rssKb: number; hwmKb: number; anonKb: number; fileKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM'), anonKb: field('RssAnon'), fileKb: field('RssFile') };
}

/** The node flags of `npm run worker` (package.json), so the bench runs the production command line. */
export function productionWorkerFlags(): string[] {
  const script = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.worker;
  const args = script.split(/\s+/);
  if (args[0] !== 'node' || args[args.length - 1] !== 'dist/worker.js') throw new Error(`unexpected worker script: ${script}`);
  return args.slice(1, -1);
}

/** What `npm run build:workflows` produces, from the compiled dist/workflows, into `dir`. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const bundlePath = join(dir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: join(PROJECT_ROOT, 'dist/workflows'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => out(m) } });
  writeFileSync(bundlePath, code);
  return bundlePath;
}

/** Spawn the worker and resolve once it logs "worker running"; its output is drained (and kept in `logFile` if given). */
export async function startWorkerProcess(env: Record<string, string>, logFile?: string, extraNodeFlags: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...productionWorkerFlags(), ...extraNodeFlags, WORKER_JS], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s:\n${output.slice(-2000)}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('worker running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited with ${code}:\n${output.slice(-2000)}`)); });
  });
  const keep = (c: Buffer) => {
    output = (output + c.toString('utf8')).slice(-4000);
    if (logFile) appendFileSync(logFile, c);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', (code, signal) => { if (code !== 0 && signal !== 'SIGTERM') out(`[worker] exited with ${code ?? signal}:\n${output}`); });
  return child;
}

/** SIGTERM (the worker drains and exits), SIGKILL after 20 s. */
export async function stopWorkerProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** RSS every 500 ms for `ms`: the last sample, and min and max. */
export async function idleRss(pid: number, ms: number): Promise<{ last: number; min: number; max: number }> {
  const idle: number[] = [];
  for (let t = 0; t < ms; t += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    idle.push(memoryOf(pid).rssKb);
  }
  return { last: idle[idle.length - 1], min: Math.min(...idle), max: Math.max(...idle) };
}
