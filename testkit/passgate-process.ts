// A long-running `passgate …` command (central start, terminal start) as a child process, resolved with
// its first stdout line: the JSON ready line every long-running command prints with --json.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export interface PassgateProcess<T> {
  proc: ChildProcess;
  ready: T;
  /** The last few kilobytes of stderr (the daemon's logs). */
  stderr(): string;
}

export function startPassgate<T>(args: string[]): Promise<PassgateProcess<T>> {
  const bin = join(projectRoot(), 'bin/passgate.js');
  const proc = spawn(process.execPath, [bin, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      proc.stdout!.off('data', onData);
      proc.stdout!.resume();
      resolve({ proc, ready: JSON.parse(out.slice(0, nl)) as T, stderr: () => err });
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`passgate ${args.join(' ')} exited ${code}: ${out}${err}`)));
  });
}

/** SIGTERM, and the exit code once it is gone. */
export function stopPassgate(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  const gone = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGTERM');
  return gone;
}
