/** Runs bench/support/httpLoadWorker.js in a worker thread and summarises what it measured. */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { percentile } from './services';

export interface HttpLoad {
  url: string;
  method?: string;
  headers: Record<string, string>;
  body?: string;
  /** Send `Idempotency-Key: <prefix>-<i>` with request i. */
  idempotencyPrefix?: string;
  count: number;
  concurrency: number;
  mode: 'closed' | 'open';
  /** Requests per second, for `open`. */
  rate?: number;
}

export interface LoadResult {
  count: number;
  seconds: number;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  errors: number;
  firstError: string | null;
  sampleBody: string | null;
  /** CPU seconds the load generator itself used (its own thread), 0 for in-process calls. */
  loadCpu: number;
  /** Every request's latency (ms), in the order sent. */
  latencies: Float64Array;
}

export function summarise(latenciesMs: ArrayLike<number>, seconds: number): Pick<LoadResult, 'count' | 'seconds' | 'rate' | 'p50' | 'p90' | 'p99' | 'max'> {
  const sorted = Array.from(latenciesMs).sort((a, b) => a - b);
  return {
    count: sorted.length, seconds, rate: sorted.length / seconds,
    p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** The load generator's thread, kept across loads (its start-up CPU is not any phase's); one load at a time. */
let loader: Worker | null = null;
let previous: Promise<unknown> = Promise.resolve();

function loadThread(): Worker {
  if (!loader) {
    loader = new Worker(join(__dirname, 'httpLoadWorker.js'), { workerData: null });
    loader.unref(); // it must not keep a bench process alive
    loader.once('exit', () => { loader = null; });
  }
  return loader;
}

/** End the load generator's thread (a bench's afterAll); the next load starts a new one. */
export async function stopHttpLoad(): Promise<void> {
  const worker = loader;
  loader = null;
  await worker?.terminate();
}

export function runHttpLoad(load: HttpLoad): Promise<LoadResult> {
  const next = previous.catch(() => undefined).then(() => runOne(load));
  previous = next;
  return next;
}

function runOne(load: HttpLoad): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = loadThread();
    const onError = (err: Error) => reject(err);
    worker.once('error', onError);
    worker.once('message', (msg: { fatal?: string; elapsedMs: number; latencies: Float64Array; statuses: Record<string, number>; errors: number; firstError: string | null; sampleBody: string | null; cpuSeconds: number }) => {
      worker.off('error', onError);
      if (msg.fatal) return reject(new Error(msg.fatal));
      resolve({
        ...summarise(msg.latencies, msg.elapsedMs / 1000), statuses: msg.statuses, errors: msg.errors, firstError: msg.firstError,
        sampleBody: msg.sampleBody, loadCpu: msg.cpuSeconds, latencies: msg.latencies,
      });
    });
    worker.postMessage({ method: 'POST', ...load });
  });
}

/** The same shape for in-process calls (the raw client baseline): `closed` or `open` like the HTTP load. */
export async function runCallLoad(opts: { count: number; concurrency: number; mode: 'closed' | 'open'; rate?: number }, call: (i: number) => Promise<unknown>): Promise<LoadResult> {
  const latencies = new Float64Array(opts.count);
  let errors = 0;
  let firstError: string | null = null;
  let next = 0;
  const start = performance.now();
  const lane = async () => {
    while (next < opts.count) {
      const i = next++;
      const at = opts.mode === 'open' ? start + (i * 1000) / opts.rate! : null;
      if (at !== null) {
        const wait = at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const from = at ?? performance.now();
      try {
        await call(i);
      } catch (err) {
        errors += 1;
        firstError ??= (err as Error).message;
      }
      latencies[i] = performance.now() - from;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.count) }, lane));
  const seconds = (performance.now() - start) / 1000;
  return { ...summarise(latencies, seconds), statuses: {}, errors, firstError, sampleBody: null, loadCpu: 0, latencies };
}
