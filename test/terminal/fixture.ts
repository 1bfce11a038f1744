// Test fixture for terminal tests: a fleet (issuer, list key, device), signed lists on disk, a terminal
// config, credentials and presentations made with shared/ directly, and a real daemon process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toHex } from '../../shared/bytes.js';
import {
  createPresentation,
  issueCredential,
  newSerial,
  toQrText,
  type Entitlement,
} from '../../shared/credential.js';
import { generateKeyPair, keyId, type KeyPair } from '../../shared/keys.js';
import { signList } from '../../shared/lists.js';
import { encodeCardSnapshot, cardHash } from '../../shared/cards.js';
import { writeSigningKey } from '../../terminal/keys.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ISSUER = 'city-test';

export interface Fleet {
  dir: string;
  listsDir: string;
  configFile: string;
  dbFile: string;
  issuer: KeyPair;
  listKey: KeyPair;
  device: KeyPair;
  cardKey: Uint8Array;
  revokedCti: Uint8Array;
  credential(sub: string, ent?: Entitlement[], cti?: Uint8Array): Uint8Array;
  qr(credential: Uint8Array, t?: number): string;
  cleanup(): void;
}

export function makeFleet(
  config: Record<string, unknown> = {},
  opts: {
    /** Card bindings; `ent` defaults to the fixture's venue (zoo). */
    cards?: Array<{ uid: string; sub: string; blocked?: boolean; ent?: Entitlement[]; exp?: number }>;
  } = {},
): Fleet {
  const dir = mkdtempSync(join(tmpdir(), 'passgate-terminal-'));
  const listsDir = join(dir, 'lists');
  mkdirSync(listsDir);
  const issuer = generateKeyPair('EdDSA');
  const listKey = generateKeyPair('EdDSA');
  const device = generateKeyPair('ES256');
  const cardKey = new Uint8Array(32).fill(7);
  const revokedCti = newSerial();
  const now = Math.floor(Date.now() / 1000);
  writeFileSync(
    join(listsDir, 'trust.cose'),
    signList(listKey, {
      type: 'trust',
      version: 1,
      issuedAt: now,
      snapshot: {
        keys: [{ kid: keyId(issuer.publicKey), alg: 'EdDSA', publicKey: issuer.publicKey, issuer: ISSUER }],
      },
    }),
  );
  writeFileSync(
    join(listsDir, 'revocation.cose'),
    signList(listKey, {
      type: 'revocation',
      version: 1,
      issuedAt: now,
      snapshot: { serials: [revokedCti], subjects: ['m-suspended'] },
    }),
  );
  if (opts.cards)
    writeFileSync(
      join(listsDir, 'cards.cose'),
      signList(listKey, {
        type: 'cards',
        version: 1,
        issuedAt: now,
        snapshot: encodeCardSnapshot(
          opts.cards.map((c) => ({
            h: cardHash(Buffer.from(c.uid, 'hex'), cardKey),
            sub: c.sub,
            blocked: c.blocked ?? false,
            ent: c.ent ?? [{ k: 'venue', v: 'zoo' }],
            ...(c.exp !== undefined ? { exp: c.exp } : {}),
          })),
        ),
      }),
    );
  writeFileSync(join(dir, 'card-key.hex'), toHex(cardKey));
  writeSigningKey(join(dir, 'terminal-key.json'));
  const configFile = join(dir, 'terminal.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        terminalId: 'gate-test-1',
        role: 'turnstile',
        gate: 'north-1',
        directions: ['in', 'out'],
        dataDir: 'data',
        listPublicKey: toHex(listKey.publicKey),
        signingKeyFile: 'terminal-key.json',
        cardKeyFile: 'card-key.hex',
        requirement: { k: 'venue', v: 'zoo' },
        inputs: [{ type: 'tcp', port: 0, repeatIgnoreMs: 0 }],
        http: { port: 0 },
        ...config,
      },
      null,
      2,
    ),
  );
  return {
    dir,
    listsDir,
    configFile,
    dbFile: join(dir, 'data', 'terminal.db'),
    issuer,
    listKey,
    device,
    cardKey,
    revokedCti,
    credential(sub, ent = [{ k: 'venue', v: 'zoo' }], cti = newSerial()) {
      return issueCredential(issuer, {
        iss: ISSUER,
        sub,
        iat: now - 60,
        nbf: now - 60,
        exp: now + 86_400,
        cti,
        devicePublicKey: device.publicKey,
        ent,
      });
    },
    qr(credential, t = Math.floor(Date.now() / 1000)) {
      return toQrText(createPresentation({ credential, deviceSecretKey: device.secretKey, t }));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Compiles dist/ when it is missing or older than the sources the daemon runs (a lock keeps parallel files from racing). */
export function ensureBuilt(): void {
  const entry = join(ROOT, 'dist/cli/commands/terminal.js');
  const sources = Math.max(...['shared', 'terminal', 'cli'].map((d) => newestMtime(join(ROOT, d))));
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  const lock = join(ROOT, 'dist/.terminal-test-build.lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      execFileSync('sleep', ['0.5']);
      if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
    }
  }
  try {
    try {
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
        { cwd: ROOT, stdio: 'pipe' },
      );
    } catch (err) {
      // tsc still emits when another area has type errors; the daemon's own files are what matter here.
      if (!existsSync(entry)) throw err;
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Daemon {
  proc: ChildProcess;
  tcpPort: number;
  httpPort: number;
  /** A kiosk with a screen configured. */
  screenPort?: number;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export function runCli(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [join(ROOT, 'bin/passgate.js'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Starts `passgate terminal start --json` and waits for its ready line. */
export function startDaemon(configFile: string): Promise<Daemon> {
  const proc = spawn(
    process.execPath,
    [join(ROOT, 'bin/passgate.js'), 'terminal', 'start', '--config', configFile, '--json'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`daemon not ready in 20 s: ${err.slice(-2000)}`)),
      20_000,
    );
    proc.stdout!.on('data', (d: Buffer) => {
      if (out === null) return;
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      const first = out.slice(0, nl);
      out = '';
      proc.stdout!.removeAllListeners('data');
      proc.stdout!.resume();
      try {
        const ready = JSON.parse(first) as { tcpPort: number; httpPort: number; screenPort?: number };
        resolveReady({
          proc,
          tcpPort: ready.tcpPort,
          httpPort: ready.httpPort,
          ...(ready.screenPort !== undefined ? { screenPort: ready.screenPort } : {}),
          stderr: () => err,
          exited,
        });
      } catch {
        reject(new Error(`unexpected first line: ${first} ${err}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before ready: ${err.slice(-2000)}`));
    });
  });
}

/** A line client: send a line, get its JSON response. */
export class LineClient {
  private buf = '';
  private waiting: Array<{ res: (v: Record<string, unknown>) => void; rej: (e: Error) => void }> = [];
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('close', () => {
      for (const w of this.waiting.splice(0)) w.rej(new Error('connection closed'));
    });
    socket.on('error', () => undefined);
    socket.on('data', (d: string) => {
      this.buf += d;
      for (let nl = this.buf.indexOf('\n'); nl !== -1; nl = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiting.shift()?.res(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }
  static connect(port: number): Promise<LineClient> {
    return new Promise((res, rej) => {
      const s = connect(port, '127.0.0.1', () => res(new LineClient(s)));
      s.once('error', rej);
    });
  }
  send(line: string): Promise<Record<string, unknown>> {
    return new Promise((res, rej) => {
      if (this.socket.destroyed) return rej(new Error('connection closed'));
      this.waiting.push({ res, rej });
      this.socket.write(line + '\n');
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

/** `passgate terminal load-lists` with the fleet's signed lists; throws with the CLI's output when refused. */
export function loadLists(fleet: Fleet): void {
  const r = runCli(['terminal', 'load-lists', '--config', fleet.configFile, '--lists', fleet.listsDir]);
  if (r.code !== 0) throw new Error(`load-lists failed (${r.code}): ${r.stderr}${r.stdout}`);
}
