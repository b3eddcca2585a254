/**
 * A PostgreSQL cluster of the drills' own, in a temporary directory: initdb with trust
 * authentication, a free loopback port, fsync off (the drills test recovery, not
 * durability of the disk). Started, stopped and restarted with pg_ctl; as root, every
 * PostgreSQL binary runs as the `postgres` user (PostgreSQL refuses to run as root).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const POSTGRES_BIN = process.env.DRILLS_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

export interface PostgresCluster {
  readonly dir: string;
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  start(): Promise<void>;
  /** pg_ctl stop -m fast */
  stop(): Promise<void>;
  /** pg_ctl restart -m fast */
  restart(): Promise<void>;
  /** Stops it (immediately) and removes the directory. */
  destroy(): Promise<void>;
  /** The end of the server log, for a report. */
  logTail(lines?: number): string;
  /** Synchronous last resort when the drill process exits without cleaning up (a crash). */
  destroySync(): void;
}

export const createPostgresCluster = async (): Promise<PostgresCluster> => {
  if (!existsSync(join(POSTGRES_BIN, 'initdb')))
    throw new Error(`PostgreSQL binaries not found in ${POSTGRES_BIN} (Debian: apt-get install postgresql-15; or set DRILLS_POSTGRES_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), 'orgway-drills-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const root = process.getuid?.() === 0;
  if (root) {
    const ids = (flag: string) => run('id', [flag, 'postgres']).then((r) => Number(r.stdout.trim()));
    chownSync(dir, await ids('-u'), await ids('-g'));
  }
  // As root, every binary runs as postgres.
  const pg = (binary: string, args: string[]) =>
    root ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, binary), ...args]) : run(join(POSTGRES_BIN, binary), args);
  const port = await freePort();
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
  const options = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    `-c unix_socket_directories='${dir}'`,
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const ctl = (args: string[]) => pg('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', ...args]);
  let running = false;
  const cluster: PostgresCluster = {
    dir,
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await ctl(['start', '-o', options]);
      running = true;
    },
    async stop() {
      await ctl(['stop', '-m', 'fast']);
      running = false;
    },
    async restart() {
      await ctl(['restart', '-m', 'fast', '-o', options]);
      running = true;
    },
    async destroy() {
      if (running || existsSync(join(data, 'postmaster.pid'))) await ctl(['stop', '-m', 'immediate']).catch(() => undefined);
      running = false;
      // DRILLS_KEEP_DIR=1 keeps the server and gateway logs for a look afterwards; remove the directory yourself.
      if (process.env.DRILLS_KEEP_DIR === '1') return void process.stderr.write(`kept ${dir}\n`);
      rmSync(dir, { recursive: true, force: true });
    },
    destroySync() {
      if (existsSync(join(data, 'postmaster.pid'))) {
        const args = ['-D', data, 'stop', '-m', 'immediate'];
        try {
          if (root) execFileSync('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, 'pg_ctl'), ...args], { stdio: 'ignore' });
          else execFileSync(join(POSTGRES_BIN, 'pg_ctl'), args, { stdio: 'ignore' });
        } catch {
          // already stopped
        }
      }
      if (process.env.DRILLS_KEEP_DIR !== '1') rmSync(dir, { recursive: true, force: true });
    },
    logTail(lines = 20) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
  await cluster.start();
  return cluster;
};
