/**
 * The embedded development services start for real: PGlite keeps its data across a
 * restart, and the Temporal dev server comes up with the case search attributes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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
