// A throwaway PostgreSQL cluster for tests: initdb in a temp dir as a non-root user, a free port on
// 127.0.0.1, the unix socket inside the temp dir. Stopped (and deleted) by stop().
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireComponent } from './components.js';

export interface PgCluster {
  url: string;
  port: number;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): string;
  /** `pg_ctl -m fast stop`: every session is terminated (as in a restart for an upgrade). */
  pause(): void;
  /** Starts the stopped server again on the same port. */
  resume(): void;
  /** `pg_ctl -m fast restart`. */
  restart(): void;
  stop(): Promise<void>;
}

export function postgresBinDir(): string | undefined {
  for (const v of ['17', '16', '15']) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(`${dir}/initdb`)) return dir;
  }
  return undefined;
}

/**
 * Whether PostgreSQL is installed (a loud warning when not; throws with CI=true). Call it while tests are
 * collected (`describe.skipIf(!havePostgres())`) so its tests show as skipped, not as passed.
 */
export function havePostgres(): boolean {
  return requireComponent('PostgreSQL server', postgresBinDir() !== undefined, 'apt-get install postgresql');
}

/** Undefined when PostgreSQL is not installed and not in CI (a warning was printed). */
export async function startPostgres(): Promise<PgCluster | undefined> {
  const bin = postgresBinDir();
  if (!havePostgres()) return undefined;
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'passgate-pg-'));
  const data = join(dir, 'data');
  const run = (cmd: string, args: string[]): void => {
    const full = isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    const r = spawnSync(full[0] as string, full[1] as string[], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  run(`${bin}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  run(`${bin}/pg_ctl`, ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  const base = `postgres://postgres@127.0.0.1:${port}`;
  return {
    url: `${base}/postgres`,
    port,
    createDatabase(name: string): string {
      run(`${bin}/psql`, [
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-c',
        `CREATE DATABASE "${name}"`,
      ]);
      return `${base}/${name}`;
    },
    pause(): void {
      run(`${bin}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    resume(): void {
      run(`${bin}/pg_ctl`, ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
    },
    restart(): void {
      run(`${bin}/pg_ctl`, [
        '-D',
        data,
        '-o',
        opts,
        '-l',
        join(dir, 'log'),
        '-m',
        'fast',
        '-w',
        '-t',
        '60',
        'restart',
      ]);
    },
    async stop(): Promise<void> {
      try {
        run(`${bin}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
