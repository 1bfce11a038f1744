// DATA/central.json: what a running `passgate central start` tells the other commands on this host (its pid
// and the ports it bound, which may be free ports it picked). Every command that talks to central finds it
// through `--central-data DIR` this way, so a non-default port is given once, to `central start`.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './command.js';

export const RUNTIME_FILE = 'central.json';

export interface CentralRuntime {
  pid: number;
  mqttPort: number;
  httpPort: number;
  /** Unix ms when this central started. */
  startedAt: number;
}

export function runtimePath(dataDir: string): string {
  return join(dataDir, RUNTIME_FILE);
}

export function writeRuntime(dataDir: string, r: CentralRuntime): void {
  writeFileSync(runtimePath(dataDir), JSON.stringify(r) + '\n');
}

export function removeRuntime(dataDir: string): void {
  rmSync(runtimePath(dataDir), { force: true });
}

/** The runtime file, or undefined when there is none or it is not one of ours. */
export function readRuntime(dataDir: string): CentralRuntime | undefined {
  const file = runtimePath(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as Partial<CentralRuntime>;
    if (
      !Number.isSafeInteger(j.pid) ||
      !Number.isSafeInteger(j.httpPort) ||
      !Number.isSafeInteger(j.mqttPort)
    )
      return undefined;
    return {
      pid: j.pid!,
      mqttPort: j.mqttPort!,
      httpPort: j.httpPort!,
      startedAt: typeof j.startedAt === 'number' ? j.startedAt : statSync(file).mtimeMs,
    };
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The runtime of a central that is running now, or undefined (no file, or its process is gone). */
export function liveRuntime(dataDir: string): CentralRuntime | undefined {
  const r = readRuntime(dataDir);
  return r && pidAlive(r.pid) ? r : undefined;
}

/** The admin API URL of the central running with this data folder; a UserError saying what to do if none. */
export function adminUrlFromData(dataDir: string): string {
  const r = readRuntime(dataDir);
  if (!r || !pidAlive(r.pid))
    throw new UserError(
      `central is not running with data folder ${dataDir}` +
        (r ? ` (pid ${r.pid} in ${RUNTIME_FILE} is gone)` : ` (no ${RUNTIME_FILE} there)`) +
        `: start it with \`passgate central start --data ${dataDir}\`, or pass --central URL`,
    );
  if (r.httpPort <= 0)
    throw new UserError(`central with data folder ${dataDir} runs without its admin API (--http-port)`);
  return `http://127.0.0.1:${r.httpPort}`;
}
