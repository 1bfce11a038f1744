// The terminal's folder (default /var/lib/passgate) as provisioning sees it: which file is which, the
// provisioning record written at enrollment, and the running daemon's runtime file.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isProcessAlive } from './process.js';

export const DEFAULT_DIR = '/var/lib/passgate';

export const FILES = {
  config: 'terminal.json',
  key: 'terminal-key.json',
  secret: 'mqtt.secret',
  cardKey: 'card-key.hex',
  ca: 'central-ca.pem',
  provision: 'provision.json',
  db: 'terminal.db',
  /** Written by `passgate terminal start` while it runs: {pid, httpPort, tcpPort, startedAt}. */
  runtime: 'daemon.json',
} as const;

/** What enrollment learnt about central, kept for doctor, rotate and decommission. */
export interface ProvisionRecord {
  terminalId: string;
  enroll: { host: string; port: number; fingerprint: string };
  /** SHA-256 of the broker certificate pinned for mqtts:// (central-ca.pem). */
  mqttFingerprint?: string;
  enrolledAt: string;
  rotatedAt?: string;
}

export interface DaemonRuntime {
  pid: number;
  httpPort: number;
  tcpPort?: number;
  startedAt: number;
}

export function paths(dir: string) {
  const d = resolve(dir);
  const p = {} as Record<keyof typeof FILES, string>;
  for (const [k, v] of Object.entries(FILES)) p[k as keyof typeof FILES] = join(d, v);
  return { dir: d, ...p };
}

export function readProvisionRecord(dir: string): ProvisionRecord | undefined {
  const file = paths(dir).provision;
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as ProvisionRecord;
    if (typeof v.terminalId !== 'string' || typeof v.enroll?.host !== 'string') return undefined;
    return v;
  } catch {
    return undefined;
  }
}

/** The running daemon for this folder, if its runtime file names a live process. */
export function runningDaemon(dir: string): DaemonRuntime | undefined {
  const file = paths(dir).runtime;
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as DaemonRuntime;
    if (!Number.isInteger(v.pid) || !isProcessAlive(v.pid)) return undefined;
    return v;
  } catch {
    return undefined;
  }
}
