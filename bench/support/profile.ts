/**
 * Where the time goes: a V8 CPU profile of this process's main thread (node:inspector, the
 * same profiler as `node --cpu-prof`) around one bench phase, saved as a .cpuprofile
 * (open it in Chrome DevTools) and summarised as self time by package / module.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Self time by bucket (package, our module, node internals, GC, idle), largest first. */
  buckets: { name: string; ms: number; share: number }[];
  /** Self time by group (see groupOf), largest first. */
  groups: { name: string; ms: number; share: number }[];
  /** Hottest functions by self time. */
  functions: { name: string; ms: number; share: number }[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
}

export async function profiled<T>(file: string, run: () => Promise<T>): Promise<{ result: T; summary: ProfileSummary }> {
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 500 });
  await post(session, 'Profiler.start');
  let result!: T;
  let profile!: CpuProfile;
  try {
    result = await run();
  } finally {
    ({ profile } = await post<{ profile: CpuProfile }>(session, 'Profiler.stop'));
    session.disconnect();
  }
  writeFileSync(file, JSON.stringify(profile));
  return { result, summary: summarise(profile, file) };
}

/** Which bucket a frame's self time goes to. */
export function bucketOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(program)') return '(program: native, V8)';
    return `(native) ${functionName}`;
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    if (/^(jest|@jest|expect|@swc|babel|source-map)/.test(pkg)) return 'jest runtime';
    return pkg;
  }
  const src = url.indexOf('/src/');
  if (url.includes('/bench/')) return 'bench (load, simulator)';
  if (src >= 0) {
    const parts = url.slice(src + 1).split('/');
    return `ours: ${parts.slice(0, Math.min(parts.length, 3)).join('/').replace(/\.(t|j)s$/, '')}`;
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node:${m ? m[1].replace(/^_/, '') : url}`;
  }
  return url;
}

/** Coarser groups of buckets: whose code the CPU ran. */
export function groupOf(bucket: string): string {
  if (bucket.startsWith('ours: ')) return 'our code (src/)';
  if (/^@temporalio\/|^(@grpc|protobufjs|@protobufjs|rxjs|long|ms|nexus-rpc)/.test(bucket)) return 'Temporal SDK (client, worker, core bridge, gRPC, protobuf)';
  if (/^(express|body-parser|router|helmet|raw-body|type-is|finalhandler|send|content-type|iconv-lite|qs|mime|on-finished|statuses|depd|path-to-regexp|swagger|cookie|vary|accepts|negotiator|parseurl|encodeurl|escape-html|etag|fresh|range-parser|media-typer|http-errors|unpipe|ee-first|proxy-addr|forwarded|ipaddr)/.test(bucket)) return 'HTTP framework (express, helmet, body-parser)';
  if (/^(zod|@asteasolutions)/.test(bucket)) return 'zod';
  if (/^(pg|pg-|postgres-)/.test(bucket)) return 'Postgres client (pg)';
  if (/^(pino|sonic-boom|fast-redact|quick-format|on-exit|thread-stream|atomic-sleep|safe-stable)/.test(bucket)) return 'logging (pino)';
  if (bucket === 'prom-client' || bucket === 'tdigest' || bucket === 'bintrees') return 'metrics (prom-client)';
  if (bucket === 'node:crypto') return 'node crypto';
  if (bucket === '(garbage collector)' || bucket.startsWith('(program')) return 'GC and V8';
  if (bucket.startsWith('node:') || bucket.startsWith('(native)')) return 'node runtime (http, streams, sockets, timers)';
  if (bucket.startsWith('bench')) return 'bench harness (load, simulator)';
  if (bucket === 'jest runtime') return 'jest runtime';
  return 'other';
}

export function summarise(profile: CpuProfile, file: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  /** Native frames (syscalls, the SDK core bridge) count for the nearest JavaScript frame that called them. */
  const callerUrl = (id: number): string => {
    for (let cur = parentOf.get(id); cur !== undefined; cur = parentOf.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      if (url) return url;
    }
    return '';
  };
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
  }
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const special = !url && /^\((idle|garbage collector|program|root)\)$/.test(functionName);
    const via = !url && !special ? callerUrl(id) : '';
    const bucket = via ? bucketOf(via, '') : bucketOf(url, functionName);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
    if (bucket !== '(idle)') {
      const where = url || via;
      const short = where ? `${where.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/')}${url ? `:${lineNumber + 1}` : ''}` : '';
      const name = `${url ? functionName || '(anonymous)' : `(native${via ? ', called from' : ''})`} ${short}`.trim();
      functions.set(name, (functions.get(name) ?? 0) + us);
    }
    total += us;
  }
  const busy = total - (buckets.get('(idle)') ?? 0);
  const rank = (m: Map<string, number>, denominator: number) => [...m.entries()]
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / denominator }))
    .sort((a, b) => b.ms - a.ms);
  const groups = new Map<string, number>();
  for (const [bucket, us] of buckets) if (bucket !== '(idle)') groups.set(groupOf(bucket), (groups.get(groupOf(bucket)) ?? 0) + us);
  return {
    file,
    totalMs: total / 1000,
    groups: rank(groups, busy || 1),
    // Shares of busy (non-idle) time, so the numbers say what the CPU did.
    buckets: rank(buckets, busy || 1),
    functions: rank(functions, busy || 1).slice(0, 15),
  };
}

export function printProfile(summary: ProfileSummary, say: (line: string) => void, topBuckets = 14): void {
  const idle = summary.buckets.find((b) => b.name === '(idle)');
  say(`  profile ${summary.file}: ${(summary.totalMs / 1000).toFixed(1)} s sampled, main thread idle ${idle ? ((idle.ms / summary.totalMs) * 100).toFixed(0) : 0}%`);
  say('  self time by group (share of busy main-thread time):');
  for (const g of summary.groups) say(`    ${(g.share * 100).toFixed(1).padStart(5)}%  ${g.name}`);
  say('  self time by package/module:');
  for (const b of summary.buckets.filter((x) => x.name !== '(idle)').slice(0, topBuckets)) {
    say(`    ${(b.share * 100).toFixed(1).padStart(5)}%  ${b.name}`);
  }
  say('  hottest functions (self):');
  for (const f of summary.functions.slice(0, 10)) say(`    ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}`);
}

export const profilePath = (dir: string, name: string) => join(dir, `${name}.cpuprofile`);
