/**
 * An embedded Postgres for development and tests: PGlite (Postgres compiled to WASM, in
 * this process) behind a Postgres wire-protocol socket, so the ordinary `pg` code runs
 * against it unchanged.
 *
 * Limits to respect (PGlite is single-session): statements run one at a time and every
 * connection shares one session, so keep the `pg` Pool's `max` <= `maxConnections`, never
 * await another pool query inside a transaction (deadlock), and don't rely on
 * session state (`SET`, temp tables, named prepared statements) staying private.
 */
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

export interface EmbeddedPostgres {
  /** e.g. `postgres://postgres@127.0.0.1:54321/postgres?sslmode=disable` */
  url: string;
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  /** Directory for the database files; undefined keeps everything in memory. */
  dataDir?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Concurrent client connections; default 10. */
  maxConnections?: number;
  log?: (msg: string) => void;
}

/** The ESM entry points; their types come from the same dynamic import (the `require` typings are a distinct copy). */
async function importPgliteNatively() {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  return { PGlite, PGLiteSocketServer };
}
type PgliteModules = Awaited<ReturnType<typeof importPgliteNatively>>;
type PGliteClass = PgliteModules['PGlite'];
type PGliteDatabase = InstanceType<PGliteClass>;

export async function startEmbeddedPostgres(opts: StartEmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => undefined);
  const host = opts.host ?? '127.0.0.1';
  const maxConnections = opts.maxConnections ?? 10;
  const { PGlite, PGLiteSocketServer } = await loadPglite();

  const startedAt = Date.now();
  const releaseDataDir = opts.dataDir ? await claimDataDir(opts.dataDir) : async () => undefined;
  let db: PGliteDatabase;
  try {
    db = await openDatabase(PGlite, opts.dataDir);
  } catch (err) {
    await releaseDataDir();
    throw err;
  }
  const server = new PGLiteSocketServer({ db, host, port: opts.port ?? 0, maxConnections });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    await releaseDataDir();
    throw listenError(err, host, opts.port ?? 0);
  }

  // After start() the server reports the port it actually bound (relevant for port 0).
  const boundAddress = server.getServerConn();
  const port = Number(boundAddress.slice(boundAddress.lastIndexOf(':') + 1));
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `postgres://postgres@${urlHost}:${port}/postgres?sslmode=disable`;
  log(
    `embedded Postgres (PGlite, ${opts.dataDir ? `data in ${opts.dataDir}` : 'in-memory'}) listening on ${host}:${port} ` +
      `after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
  );

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await server.stop();
      await db.close(); // flushes to dataDir
      await releaseDataDir();
    })();
    return stopping;
  };
  return { url, stop };
}

const OWNER_FILE = 'gongjian-owner.pid';

/**
 * PGlite does not lock its data directory, and two processes writing one directory corrupt
 * it (say, two `npm start`s); an owner file with our pid keeps a second opener out.
 */
async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const ownerFile = path.join(dataDir, OWNER_FILE);
  const release = (): Promise<void> => unlink(ownerFile).catch(() => undefined);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(ownerFile, String(process.pid), { flag: 'wx' });
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(ownerFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && isProcessAlive(owner)) {
      throw new Error(
        `embedded Postgres data directory ${dataDir} is in use by process ${owner} (another \`npm start\` or test run?): ` +
          `stop that process, or use another data directory; if no such process exists, delete ${ownerFile}`,
      );
    }
    await unlink(ownerFile).catch(() => undefined); // its owner died without stop(): take over
  }
  throw new Error(`could not claim the embedded Postgres data directory ${dataDir}: another process keeps claiming it`);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

async function openDatabase(PGlite: PGliteClass, dataDir: string | undefined): Promise<PGliteDatabase> {
  try {
    return await PGlite.create(dataDir ? { dataDir } : {});
  } catch (err) {
    const where = dataDir ? `data directory ${dataDir}` : 'an in-memory database';
    const hint = dataDir
      ? ': is another process using it? (stop it, or remove the directory to start from an empty database)'
      : '';
    throw new Error(`embedded Postgres (PGlite) could not open ${where}${hint}: ${errorMessage(err)}`, { cause: err });
  }
}

function listenError(err: unknown, host: string, port: number): Error {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') {
    return new Error(
      `port ${port} on ${host} is in use, so the embedded Postgres cannot listen there: ` +
        `choose another port, or set DATABASE_URL to use the server already listening`,
    );
  }
  return new Error(`embedded Postgres could not listen on ${host}:${port}: ${errorMessage(err)}`, { cause: err });
}

/**
 * PGlite loads Node built-ins with dynamic `import()`, even in its CommonJS build. Inside a
 * jest sandbox (a vm context) that throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG unless
 * jest runs with --experimental-vm-modules, so there the modules are loaded by Node's own
 * loader in the main context instead. Plain Node (`npm start`, builds) takes the ordinary path.
 */
async function loadPglite(): Promise<PgliteModules> {
  if (!isInsideVmSandbox()) return importPgliteNatively();
  const importInMainContext = vm.runInThisContext('(specifier) => import(specifier)', {
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }) as (specifier: string) => Promise<unknown>;
  // Resolve here (the main context has no notion of this file's node_modules) and load by URL.
  const load = (pkg: string): Promise<unknown> => importInMainContext(pathToFileURL(require.resolve(pkg)).href);
  const [pglite, socket] = (await Promise.all([
    load('@electric-sql/pglite'),
    load('@electric-sql/pglite-socket'),
  ])) as [Pick<PgliteModules, 'PGlite'>, Pick<PgliteModules, 'PGLiteSocketServer'>];
  return { PGlite: pglite.PGlite, PGLiteSocketServer: socket.PGLiteSocketServer };
}

/** True when this code runs in a vm context (as jest test files do) rather than Node's main one. */
function isInsideVmSandbox(): boolean {
  return vm.runInThisContext('globalThis') !== globalThis;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
