/**
 * A real PgBouncer (the Debian package, 1.18 on these machines) on a free loopback port,
 * with its own configuration in a temporary directory, in front of the test PostgreSQL.
 * `pgbouncerMissing()` says why it cannot run: only when the binary is absent and CI is
 * not set (`.ci/run` installs the package, so CI always runs these tests).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, viaPort } from './net.js';

const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));

export const pgbouncerMissing = (): string | null => {
  if (BINARY) return null;
  if (process.env.CI) throw new Error('pgbouncer is not installed, and CI is set: install it (apt-get install -y pgbouncer; .ci/run does)');
  return 'pgbouncer is not installed (apt-get update && apt-get install -y pgbouncer); skipping the PgBouncer tests';
};

export interface PgBouncer {
  port: number;
  /** `url` with host and port replaced by PgBouncer's. */
  via(url: string): string;
  stop(): Promise<void>;
}

export const startPgbouncer = async (target: { host: string; port: number; user: string }, poolMode: 'transaction' | 'session' = 'transaction'): Promise<PgBouncer> => {
  const dir = mkdtempSync(join(tmpdir(), 'orgway-pgbouncer-'));
  const port = await freePort();
  // PgBouncer refuses to run as root; as root it is told to switch to postgres.
  const root = process.getuid?.() === 0;
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  writeFileSync(join(dir, 'userlist.txt'), `"${target.user}" ""\n`);
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    `[databases]
* = host=${target.host} port=${target.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = ${poolMode}
default_pool_size = 4
max_client_conn = 400
ignore_startup_parameters = extra_float_digits
server_reset_query =
logfile = ${join(dir, 'pgbouncer.log')}
pidfile = ${join(dir, 'pgbouncer.pid')}
${root ? 'user = postgres' : ''}
`,
  );
  const child: ChildProcess = spawn(BINARY!, [ini], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Listening: a TCP connection is accepted.
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || i > 200) throw new Error(`pgbouncer did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    via: (url) => viaPort(url, port),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
