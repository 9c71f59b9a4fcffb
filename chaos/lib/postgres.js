'use strict';
/**
 * A throwaway Postgres cluster for one chaos run: `initdb` into a temp dir, `pg_ctl start`
 * on its own port, so a scenario can stop it and start it again like an operator would.
 * As root, the server binaries refuse to run, so they run as the `postgres` OS user
 * (`runuser -u postgres --`) with a data dir that user owns.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync, chownSync } = require('node:fs');
const { join } = require('node:path');
const { Client } = require('pg');

function postgresBinDir() {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(debian, versions[0], 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('initdb/pg_ctl not found: install the Postgres server (Debian: apt-get install postgresql) or set PG_BIN_DIR');
  }
}

function osUser(name) {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`running as root, but there is no "${name}" OS user to run Postgres as (initdb refuses root)`);
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/**
 * @param {{ dir: string, port: number }} opts  dir: an empty directory for the cluster (data, socket, log)
 */
async function startThrowawayPostgres({ dir, port }) {
  const bin = postgresBinDir();
  const asRoot = process.getuid && process.getuid() === 0;
  mkdirSync(dir, { recursive: true });
  if (asRoot) {
    const { uid, gid } = osUser('postgres');
    chownSync(dir, uid, gid);
  }
  const run = (tool, args) => {
    const file = join(bin, tool);
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  let running = false;
  const pg = {
    port,
    dataDir: data,
    logFile: log,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    start() {
      run('pg_ctl', ['-D', data, '-o', serverOptions, '-l', log, '-w', '-t', '60', 'start']);
      running = true;
    },
    /** `fast`: disconnect clients and shut down cleanly, as an operator's restart does. */
    stop(mode = 'fast') {
      if (!running) return;
      run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    get running() { return running; },
    async createDatabase(name) {
      const c = new Client({ connectionString: pg.url() });
      await c.connect();
      try { await c.query(`CREATE DATABASE "${name}"`); } finally { await c.end(); }
      return pg.url(name);
    },
    destroy() {
      try { pg.stop('immediate'); } catch { /* already gone */ }
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // A cluster outliving the run would keep its port and its memory: stop it whatever happens.
  const onExit = () => { if (running) { try { pg.stop('immediate'); } catch { /* best effort */ } } };
  process.on('exit', onExit);
  pg.start();
  return pg;
}

module.exports = { startThrowawayPostgres };
