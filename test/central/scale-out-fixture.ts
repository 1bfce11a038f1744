// Scale-out in real processes for fault tests: a throwaway PostgreSQL cluster, mosquitto configured by
// `central mosquitto-config`, central workers as `passgate central start` child processes (from dist/,
// built when missing) sharing one list key, and simulated terminals with durable SQLite outboxes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { LIST_KEY_FILE, loadOrCreateListKey } from '../../central/list-key.js';
import { writeMosquittoConfig } from '../../central/mosquitto-config.js';
import { PostgresCentralStore } from '../../central/store/postgres.js';
import { toHex } from '../../shared/bytes.js';
import { generateKeyPair } from '../../shared/keys.js';
import { freePort } from '../../testkit/components.js';
import { waitFor } from '../../testkit/wait.js';
import { haveMosquitto, startMosquitto, type MosquittoBroker } from '../../testkit/mosquitto.js';
import { startPostgres, type PgCluster } from '../../testkit/postgres.js';

const root = join(import.meta.dirname, '..', '..');
const simTerminal = join(root, 'dist', 'testkit', 'sim-terminal.js');

export interface WorkerProcess {
  name: string;
  httpPort: number;
  child: ChildProcess;
  /** stderr (pino JSON lines). */
  log(): string;
  api<T>(path: string, body?: unknown): Promise<T>;
  health(): Promise<{ status: number; body: Record<string, unknown> } | undefined>;
}

export interface WorkerStatus {
  terminals: { id: string; ackedSeq: number }[];
  events: number;
  database: { state: string; outages: number };
  publisher: { leader: boolean; snapshots: number; deltas: number; beacons: number };
  lists: Record<string, { version: number }>;
}

export const exited = (p: ChildProcess): Promise<number | null> =>
  new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once('exit', r)));

export function ensureBuilt(): void {
  if (!existsSync(simTerminal) || !existsSync(join(root, 'dist', 'cli', 'main.js')))
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')],
      { stdio: 'inherit' },
    );
}

export class ScaleOut {
  dir = '';
  pg: PgCluster | undefined;
  broker: MosquittoBroker | undefined;
  dbUrl = '';
  brokerUrl = '';
  listPublicKeyHex = '';
  private admin: PostgresCentralStore | undefined;
  readonly workers: WorkerProcess[] = [];
  private readonly terminals: ChildProcess[] = [];

  /** False (after a loud warning) when mosquitto or PostgreSQL is missing outside CI. */
  async start(): Promise<boolean> {
    if (!haveMosquitto()) return false;
    this.pg = await startPostgres();
    if (!this.pg) return false;
    ensureBuilt();
    this.dir = mkdtempSync(join(tmpdir(), 'passgate-scale-out-'));
    this.dbUrl = this.pg.createDatabase('central');
    this.admin = new PostgresCentralStore(this.dbUrl, 2);
    await this.admin.init();
    const files = await writeMosquittoConfig(this.admin, join(this.dir, 'mosquitto'));
    this.broker = await startMosquitto(files);
    this.brokerUrl = files.centralUrl(`127.0.0.1:${this.broker.port}`);
    this.listPublicKeyHex = toHex(loadOrCreateListKey(this.dir).publicKey);
    return true;
  }

  async startWorker(name: string, extra: string[] = []): Promise<WorkerProcess> {
    const data = join(this.dir, name);
    mkdirSync(data, { recursive: true });
    // Every worker signs with the one list key.
    if (!existsSync(join(data, LIST_KEY_FILE)))
      copyFileSync(join(this.dir, LIST_KEY_FILE), join(data, LIST_KEY_FILE));
    const httpPort = await freePort();
    const child = spawn(
      process.execPath,
      [
        join(root, 'bin', 'passgate.js'),
        ...['central', 'start', '--data', data, '--broker', this.brokerUrl, '--db', this.dbUrl],
        ...['--worker', name, '--http-port', String(httpPort), '--scrypt-cost', '10', ...extra],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
    });
    const base = `http://127.0.0.1:${httpPort}`;
    const token = () => readFileSync(join(data, 'admin.token'), 'utf8').trim();
    const w: WorkerProcess = {
      name,
      httpPort,
      child,
      log: () => stderr,
      async api<T>(path: string, body?: unknown): Promise<T> {
        const headers = { authorization: `Bearer ${token()}` };
        const res = await fetch(
          base + path,
          body ? { method: 'POST', body: JSON.stringify(body), headers } : { headers },
        );
        if (!res.ok) throw new Error(`${name} ${path}: ${res.status} ${await res.text()}`);
        return (await res.json()) as T;
      },
      async health() {
        const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(
          () => undefined,
        );
        if (!res) return undefined;
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      },
    };
    this.workers.push(w);
    await waitFor(`worker ${name} up`, async () => (await w.health())?.status === 200, 30_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${stderr.slice(-2000)}`);
      },
    );
    return w;
  }

  /** Registers a terminal at `via` and adds it to mosquitto's password file. */
  async addTerminal(via: WorkerProcess, id: string): Promise<{ password: string; secretHex: string }> {
    const key = generateKeyPair('EdDSA');
    const creds = await via.api<{ password: string }>('/terminals', {
      id,
      role: 'turnstile',
      publicKey: toHex(key.publicKey),
    });
    await writeMosquittoConfig(this.admin!, join(this.dir, 'mosquitto'));
    await this.broker!.reload();
    return { password: creds.password, secretHex: toHex(key.secretKey) };
  }

  /** A simulated terminal process that commits `events` events and exits 0 once central acked them all. */
  startTerminal(id: string, t: { password: string; secretHex: string }, events: number): ChildProcess {
    const child = spawn(
      process.execPath,
      [
        simTerminal,
        ...[join(this.dir, `${id}.db`), this.broker!.url, id, t.password, t.secretHex],
        ...[String(events), this.listPublicKeyHex],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    this.terminals.push(child);
    return child;
  }

  /** Direct counts from PostgreSQL: events per terminal and duplicates (none possible by the key). */
  async eventsAt(terminal: string): Promise<{ count: number; maxSeq: number; acked: number }> {
    const rows = await this.admin!.events(terminal, 0, 1_000_000);
    const rec = await this.admin!.terminal(terminal);
    return { count: rows.length, maxSeq: rows.at(-1)?.seq ?? 0, acked: rec?.ackedSeq ?? 0 };
  }

  async stop(): Promise<void> {
    for (const p of [...this.terminals, ...this.workers.map((w) => w.child)])
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await exited(p);
      }
    await this.admin?.close().catch(() => undefined);
    await this.broker?.stop();
    await this.pg?.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Registers beforeAll/afterAll for a suite on one ScaleOut; `ready()` is false when a component is missing. */
export function scaleOutSuite(): { so: ScaleOut; ready: () => boolean } {
  const so = new ScaleOut();
  let ready = false;
  beforeAll(async () => {
    ready = await so.start();
  }, 120_000);
  afterAll(async () => {
    await so.stop();
  }, 60_000);
  return { so, ready: () => ready };
}
