/**
 * The embedded development services start for real: PGlite keeps its data across a
 * restart, and the Temporal dev server comes up with the case search attributes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/dev/embeddedPostgres';
import { findFreePort, startTemporalDevServer } from '../../src/dev/temporalDevServer';
import { resolveTemporalCli } from '../../src/dev/tools';

jest.setTimeout(120_000);

async function withPgClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

describe('embedded Postgres', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'gongjian-pglite-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps a recorded case event across a restart', async () => {
    const first = await startEmbeddedPostgres({ dataDir, port: 0 });
    try {
      await withPgClient(first.url, async (client) => {
        await client.query('CREATE TABLE case_events (case_id text, seq int, kind text, PRIMARY KEY (case_id, seq))');
        await client.query('INSERT INTO case_events VALUES ($1, $2, $3)', ['SR-1', 1, 'submitted']);
      });
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedPostgres({ dataDir, port: 0 });
    try {
      const rows = await withPgClient(second.url, async (client) =>
        (await client.query('SELECT case_id, seq, kind FROM case_events')).rows,
      );
      expect(rows).toEqual([{ case_id: 'SR-1', seq: 1, kind: 'submitted' }]);
    } finally {
      await second.stop();
    }
  });

  it('serves several pooled connections at once', async () => {
    const db = await startEmbeddedPostgres({ maxConnections: 3 });
    try {
      const answers = await Promise.all(
        [1, 2, 3].map((n) => withPgClient(db.url, async (client) => (await client.query('SELECT $1::int AS n', [n])).rows[0].n)),
      );
      expect(answers).toEqual([1, 2, 3]);
    } finally {
      await db.stop();
    }
  });
});

describe('Temporal dev server', () => {
  it('starts with the case search attributes registered', async () => {
    const cliPath = await resolveTemporalCli({ projectRoot: process.cwd() });
    const server = await startTemporalDevServer({
      cliPath,
      port: 0,
      uiPort: null,
      searchAttributes: { CaseType: 'Keyword', Overdue: 'Bool' },
    });
    try {
      expect(server.uiUrl).toBeNull();
      const connection = await Connection.connect({ address: server.address });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        const { IndexedValueType } = temporal.api.enums.v1;
        expect(customAttributes).toMatchObject({
          CaseType: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
          Overdue: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
        });
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
  });

  it('starts again on other ports when a server on ports of its choosing dies before it is ready', async () => {
    // A stand-in for the CLI that fails as the real one does when a port it was given is taken meanwhile.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gongjian-fake-cli-'));
    const fakeCli = path.join(dir, 'temporal');
    await writeFile(fakeCli, '#!/bin/sh\necho "listen tcp 127.0.0.1:$6: bind: address already in use" >&2\nexit 2\n', { mode: 0o755 });
    const logs: string[] = [];
    const ports = new Set<string>();
    await expect(startTemporalDevServer({ cliPath: fakeCli, port: 0, uiPort: null, searchAttributes: {}, log: (m) => {
      logs.push(m);
      const port = /on 127\.0\.0\.1:(\d+)/.exec(m)?.[1];
      if (port) ports.add(port);
    } })).rejects.toThrow(/stopped before it was ready: exited with code 2.*address already in use/s);
    expect(logs.filter((m) => m.startsWith('starting'))).toHaveLength(3);
    expect(logs.filter((m) => /exited while starting \(try \d of 3\)/.test(m))).toHaveLength(2);
    expect(ports.size).toBe(3);
    // A port the caller chose is not changed behind its back: one try.
    const fixed = await findFreePort();
    logs.length = 0;
    await expect(startTemporalDevServer({ cliPath: fakeCli, port: fixed, uiPort: null, searchAttributes: {}, log: (m) => logs.push(m) }))
      .rejects.toThrow(/stopped before it was ready/);
    expect(logs.filter((m) => m.startsWith('starting'))).toHaveLength(1);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start on a port that is already taken', async () => {
    const cliPath = await resolveTemporalCli({ projectRoot: process.cwd() });
    const net = await import('node:net');
    const port = await findFreePort();
    const squatter = net.createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      await expect(
        startTemporalDevServer({ cliPath, port, uiPort: null, searchAttributes: {} }),
      ).rejects.toThrow(`port ${port} is in use: is another Temporal server running? set TEMPORAL_ADDRESS to use it`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
