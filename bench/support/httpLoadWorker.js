/**
 * Loopback HTTP load, run in a worker thread so the load's own CPU does not share the
 * API's event loop. Plain JavaScript: worker threads load it without the test transform.
 * The thread lives across loads (one message per load): starting a thread costs the process
 * some 35-45 ms of CPU, which would otherwise land in the measured phase as the API's.
 *
 * Each message: { url, method, headers, body, idempotencyPrefix?, count, concurrency,
 *                 mode: 'closed' | 'open', rate? }
 * - closed: `count` requests, at most `concurrency` in flight (the sustained rate);
 * - open: request i is due at start + i / rate (at most `concurrency` in flight); its
 *   latency counts from when it was due, so a server falling behind shows in the figures.
 * Posts back { elapsedMs, latencies (ms), statuses, errors, firstError, sampleBody, cpuSeconds (this thread) }.
 */
'use strict';
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');

function once({ target, method, headers, payload, idempotencyPrefix, agent }, i, retried = false) {
  return new Promise((resolve) => {
    const h = { ...headers };
    if (payload) h['content-length'] = String(payload.length);
    if (idempotencyPrefix) h['idempotency-key'] = `${idempotencyPrefix}-${i}`;
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: 0, text: err.message }));
    });
    req.on('error', (err) => {
      // A kept-alive socket the server closed while idle: the request never reached it, send it again.
      if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) resolve(once({ target, method, headers, payload, idempotencyPrefix, agent }, i, true));
      else resolve({ status: 0, text: err.message });
    });
    if (payload) req.write(payload);
    req.end();
  });
}

/** CPU seconds of this thread alone (Linux), so the bench can take the load's own cost out of the process total. */
function threadCpuSeconds() {
  try {
    const stat = require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function run({ url, method, headers, body, idempotencyPrefix, count, concurrency, mode, rate }) {
  const cpu0 = threadCpuSeconds();
  // Idle sockets are dropped before the server's 5 s keep-alive timeout would close them under us.
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, timeout: 4000 });
  const request = { target: new URL(url), method, headers, payload: body === undefined ? undefined : Buffer.from(body), idempotencyPrefix, agent };
  const latencies = new Float64Array(count);
  const statuses = {};
  let errors = 0;
  let firstError = null;
  let sampleBody = null;
  let next = 0;
  const start = performance.now();
  const due = (i) => (mode === 'open' ? start + (i * 1000) / rate : null);

  const record = (i, from, res) => {
    latencies[i] = performance.now() - from;
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.status < 200 || res.status >= 300) {
      errors += 1;
      firstError ??= `${res.status} ${res.text.slice(0, 300)}`;
    } else {
      sampleBody ??= res.text.slice(0, 500);
    }
  };

  const lane = async () => {
    while (next < count) {
      const i = next++;
      const at = due(i);
      if (at !== null) {
        const wait = at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const from = at ?? performance.now();
      record(i, from, await once(request, i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  const elapsedMs = performance.now() - start;
  agent.destroy();
  return { elapsedMs, latencies, statuses, errors, firstError, sampleBody, cpuSeconds: threadCpuSeconds() - cpu0 };
}

const serve = (load) => run(load).then((result) => parentPort.postMessage(result), (err) => parentPort.postMessage({ fatal: String(err && err.stack || err) }));
parentPort.on('message', serve);
// Started with one load in workerData (the old way): run it too.
if (workerData) serve(workerData);
