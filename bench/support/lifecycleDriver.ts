/**
 * What the case lifecycle benches share: a loopback REST client, a mailbox that lets a
 * case's driver wait for the webhooks (or the bare workflow's notifications) it acts on,
 * and the shape of a history.
 */
import http from 'node:http';
import { temporal } from '@temporalio/proto';

/** Idle sockets are dropped before the server's 5 s keep-alive timeout would close them under us. */
export function restClient(baseUrl: () => string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
  function call(method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}, retries = 3): Promise<{ status: number; json: any }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const url = new URL(path, baseUrl());
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: url.hostname, port: url.port, path: url.pathname, method, agent,
        headers: { authorization: `Bearer ${key}`, ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try { json = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while idle: the request never reached it, send it again.
        if (req.reusedSocket && err.code === 'ECONNRESET' && retries > 0) resolve(call(method, path, key, body, headers, retries - 1));
        else reject(new Error(`${method} ${path}: ${err.message} (${err.code}, reused socket: ${req.reusedSocket})`));
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
  /** POST an action; anything but a 200 whose body has `status` = `expected` (or passes it) is an error naming the answer. */
  async function act(path: string, key: string, body: unknown, expected: string | ((json: any) => boolean)): Promise<any> {
    const res = await call('POST', path, key, body);
    const ok = typeof expected === 'string' ? res.json?.status === expected : res.status === 200 && expected(res.json);
    if (res.status !== 200 || !ok) throw new Error(`POST ${path} answered ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
    return res.json;
  }
  return { call, act, destroy: () => agent.destroy() };
}

/**
 * Per case, the notifications seen so far (a webhook's event and order, or what a bare
 * workflow's activity passed on), and drivers waiting for them. Either may come first.
 */
export class Mailbox {
  private readonly boxes = new Map<string, Map<string, { promise: Promise<void>; resolve(): void }>>();

  constructor(private readonly deadlineMs: number) {}

  private entry(caseId: string, tag: string) {
    let box = this.boxes.get(caseId);
    if (!box) this.boxes.set(caseId, (box = new Map()));
    let e = box.get(tag);
    if (!e) {
      let resolve!: () => void;
      const promise = new Promise<void>((res) => { resolve = res; });
      e = { promise, resolve };
      box.set(tag, e);
    }
    return e;
  }

  deliver(caseId: string, tag: string): void {
    this.entry(caseId, tag).resolve();
  }

  /** Resolves once `tag` was delivered for the case; rejects after the deadline. */
  async wait(caseId: string, tag: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.entry(caseId, tag).promise, new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`case ${caseId}: no ${tag} within ${this.deadlineMs} ms`)), this.deadlineMs);
      })]);
    } finally {
      clearTimeout(timer);
    }
  }

  forget(caseId: string): void {
    this.boxes.delete(caseId);
  }
}

export interface HistoryShape { total: number; activities: number; updates: number; timers: number; workflowTasks: number; upserts: number }

export function historyShape(events: temporal.api.history.v1.IHistoryEvent[]): HistoryShape {
  const T = temporal.api.enums.v1.EventType;
  const count = (t: number) => events.filter((e) => e.eventType === t).length;
  return {
    total: events.length,
    activities: count(T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    updates: count(T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
    timers: count(T.EVENT_TYPE_TIMER_STARTED),
    workflowTasks: count(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    upserts: count(T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
  };
}

export const describeShape = (s: HistoryShape) =>
  `${s.total} events (${s.workflowTasks} workflow tasks, ${s.activities} activities, ${s.updates} updates, ${s.timers} timers, ${s.upserts} search-attribute upserts)`;
