// What a new user hit following the README (issue 9 items 2, 3, 5, 6, 7, 8), each checked through the real
// CLI: central found from --central-data, a failed start leaving nothing behind, an honest `central
// status`, a terminal that stops when its input ends, and the messages people read.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetReport } from '../central/fleet.js';
import { startCentral } from '../central/index.js';
import { IssuerKeystore } from '../issuer/keystore.js';
import { runMain } from '../testkit/cli.js';
import { ensureBuilt, makeFleet, ROOT } from './terminal/fixture.js';

const BIN = join(ROOT, 'bin', 'passgate.js');
const children: ChildProcess[] = [];
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'passgate-newcomer-'));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const cli = runMain;

/** An in-process central on free ports without its admin API, to make a data folder. */
const centralInProcess = (dataDir: string) =>
  startCentral({ dataDir, mqttPort: 0, httpPort: -1, logger: pino({ level: 'silent' }), scryptCost: 10 });

function sh(args: string[], env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** `central start` as a real process on free ports; resolves once its ready line is out. */
async function startCentralProcess(data: string, extra: string[] = []): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [BIN, 'central', 'start', '--data', data, '--json', ...extra], {
    env: { ...process.env, PASSGATE_MQTT_PORT: '0', PASSGATE_HTTP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('"ready":true')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`central exited ${code}`)));
  });
  return proc;
}

function stopped(proc: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

describe('item 2: every command finds central from --central-data', () => {
  it('enroll-code, suspend, revoke, command and status use the port central wrote, not 8480', async () => {
    const data = join(dir, 'c2');
    const proc = await startCentralProcess(data);
    const runtime = JSON.parse(readFileSync(join(data, 'central.json'), 'utf8')) as { httpPort: number };
    expect(runtime.httpPort).not.toBe(8480);
    const code = await cli([
      'issuer',
      'enroll-code',
      '--central-data',
      data,
      '--terminal',
      'gate-2',
      '--role',
      'kiosk',
      '--quiet',
    ]);
    expect(code.code, code.err).toBe(0);
    expect(code.out).toMatch(/^\S{10,}$/); // --quiet: the code alone
    expect((await cli(['issuer', 'suspend', '--central-data', data, '--sub', 'p-7f3a'])).code).toBe(0);
    const serial = 'ab'.repeat(16);
    const revoked = await cli(['issuer', 'revoke', '--central-data', data, '--cti', serial, '--json']);
    expect(JSON.parse(revoked.out)).toMatchObject({ ok: true, revocationVersion: 3 });
    // found central: the refusal is central's own answer about the terminal
    const command = await cli([
      'central',
      'command',
      '--central-data',
      data,
      '--terminal',
      'gate-2',
      '--command',
      'reload',
    ]);
    expect(command.err).toMatch(/not registered/);
    expect(sh(['central', 'status', '--central-data', data]).code).toBe(0);
    const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
    const remote = sh([
      'central',
      'status',
      '--central',
      `http://127.0.0.1:${runtime.httpPort}`,
      '--token',
      token,
    ]);
    expect(remote.code, remote.out).toBe(0);
    expect(remote.out).toMatch(
      /central is running at http:\/\/127\.0\.0\.1:\d+ · \d+ events stored · lists: trust v1, revocation v3/,
    );
    const end = stopped(proc);
    proc.kill('SIGTERM');
    const { code: exit, out } = await end;
    expect(exit).toBe(0);
    expect(out).toMatch(/"stopped":true/);
    expect(existsSync(join(data, 'central.json'))).toBe(false);
    const gone = await cli(['issuer', 'revoke', '--central-data', data, '--cti', serial]);
    expect(gone.code).toBe(2);
    expect(gone.err).toMatch(
      /central is not running with data folder .*start it with `passgate central start/,
    );
  }, 60_000);
});

describe('item 3: central start that cannot start exits at once and leaves nothing behind', () => {
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '0.0.0.0', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => busy.close());

  it('a port in use: exit 2 within seconds, no data folder; the same with --issuer, then a retry works', async () => {
    const fresh = join(dir, 'c3-fresh');
    const started = Date.now();
    const r = sh(['central', 'start', '--data', fresh, '--mqtt-port', String(busyPort), '--http-port', '0']);
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.out).toMatch(/EADDRINUSE|in use/);
    expect(r.out).toMatch(/Nothing was left behind/);
    expect(existsSync(fresh)).toBe(false);

    const issuer = join(dir, 'c3-issuer');
    IssuerKeystore.init(issuer, { alg: 'EdDSA', issuer: 'city' });
    const existing = join(dir, 'c3-existing');
    mkdirSync(existing);
    writeFileSync(join(existing, 'notes.txt'), 'kept');
    const again = sh([
      'central',
      'start',
      '--data',
      existing,
      '--issuer',
      issuer,
      '--mqtt-port',
      '0',
      '--http-port',
      String(busyPort),
    ]);
    expect(again.code).toBe(2);
    expect(readdirSync(existing)).toEqual(['notes.txt']);
    // nothing half-made: a retry with --issuer is not refused
    const proc = await startCentralProcess(existing, ['--issuer', issuer]);
    expect(existsSync(join(existing, 'issuer.json'))).toBe(true);
    expect(existsSync(join(existing, 'list-key.json'))).toBe(false);
    const end = stopped(proc);
    proc.kill('SIGTERM');
    expect((await end).code).toBe(0);
  }, 90_000);

  it('an invalid port is a usage error before anything is written', () => {
    const d = join(dir, 'c3-bad');
    for (const args of [
      ['--mqtt-port', '70000'],
      ['--http-port', '-1'],
      ['--mqtt-port', '1.5'],
    ]) {
      const r = sh(['central', 'start', '--data', d, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.out).toMatch(/port number from 0 to 65535/);
    }
    expect(sh(['central', 'start', '--data', d], { PASSGATE_MQTT_PORT: 'x' }).out).toMatch(
      /PASSGATE_MQTT_PORT/,
    );
    expect(existsSync(d)).toBe(false);
  });
});

describe('items 5 and 6: central status tells whether central runs, and the lag from what it stored', () => {
  it('a killed central: not running, data age, terminals not "online"', async () => {
    const data = join(dir, 'c5');
    const central = await centralInProcess(data);
    await central.addTerminal('gate-5', 'turnstile', new Uint8Array(32).fill(3));
    await central.store.recordStatus(
      'gate-5',
      { state: 'online', at: Date.now(), lastSeq: 10, outboxDepth: 4 },
      Date.now(),
    );
    await central.stop();
    // a central.json left behind by a central that was killed
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(
      join(data, 'central.json'),
      JSON.stringify({ pid: Number(dead.stdout), mqttPort: 1, httpPort: 2, startedAt: 0 }),
    );
    const r = sh(['central', 'status', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /central is NOT running \(pid \d+ is gone: it did not stop cleanly\); this is the data it last wrote, .* ago/,
    );
    expect(r.out).toMatch(/state unknown while central is down/);
    expect(r.out).not.toMatch(/ online /);
    const json = JSON.parse(sh(['central', 'status', '--data', data, '--json']).out) as {
      running: boolean;
      dataAt: number;
      terminals: Array<{ online: boolean }>;
    };
    expect(json.running).toBe(false);
    expect(json.dataAt).toBeLessThanOrEqual(Date.now());
    expect(json.terminals[0]!.online).toBe(false);
  }, 60_000);

  it('lag = the terminal last seq minus what central stored, not the heartbeat outbox depth', () => {
    const now = Date.now();
    const record = {
      id: 'gate-6',
      role: 'turnstile',
      ackedSeq: 10,
      lastSeen: now - 30_000,
      status: { state: 'online' as const, at: now - 30_000, lastSeq: 10, outboxDepth: 4 },
    };
    const [t] = fleetReport([record as never], now).terminals;
    expect(t).toMatchObject({ outboxLag: 0, statusAt: now - 30_000 });
    const [behind] = fleetReport([{ ...record, ackedSeq: 7 } as never], now).terminals;
    expect(behind!.outboxLag).toBe(3);
  });
});

describe('item 7: a terminal whose only input is stdin stops when stdin ends', () => {
  it('decides the piped line, then stops on EOF saying "terminal stopped"', async () => {
    const fleet = makeFleet({ inputs: { stdin: true } });
    try {
      expect(
        sh(['terminal', 'load-lists', '--config', fleet.configFile, '--lists', fleet.listsDir]).code,
      ).toBe(0);
      const proc = spawn(process.execPath, [BIN, 'terminal', 'start', '--config', fleet.configFile], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.push(proc);
      const end = stopped(proc);
      proc.stdin!.end(fleet.qr(fleet.credential('m-77')) + '\n');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      const { code, out } = await end;
      clearTimeout(timer);
      expect(code).toBe(0);
      expect(out).toMatch(/^OPEN /m);
      expect(out).toMatch(/terminal stopped\./);
    } finally {
      fleet.cleanup();
    }
  }, 60_000);
});

describe('item 8: messages', () => {
  it('numbers, --days, --require, ENOTDIR and the serial read in plain words', async () => {
    const issuer = join(dir, 'm-issuer');
    const wallet = join(dir, 'm-wallet.json');
    expect((await cli(['issuer', 'init', '--dir', issuer])).code).toBe(0);
    expect((await cli(['wallet', 'new', '--file', wallet])).code).toBe(0);
    const base = [
      'issuer',
      'issue',
      '--dir',
      issuer,
      '--wallet',
      wallet,
      '--sub',
      'm-1234',
      '--ent',
      'venue',
    ];
    for (const days of ['0', '-5']) {
      const r = await cli([...base, '--days', days]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`--days is the validity in days: more than 0 and at most 3650, got ${days}`);
    }
    expect((await cli([...base, '--days'])).err).toMatch(/--days needs a value/);
    expect((await cli([...base, '--bogus'])).err).toMatch(/unknown option --bogus/);
    const issued = await cli(base);
    expect(issued.out).toMatch(/credential serial \(--cti\): [0-9a-f]{32}/);
    expect(issued.out).toMatch(/passgate issuer revoke --cti [0-9a-f]{32}/);
    const lists = join(dir, 'm-lists');
    expect((await cli(['issuer', 'lists', '--dir', issuer, '--out', lists])).code).toBe(0);
    const req = await cli(['verify', 'PG1:x', '--lists', lists, '--require', 'Bad!']);
    expect(req.code).toBe(2);
    expect(req.err).toContain('--require "Bad!"');
    expect(req.err).not.toContain('--ent');
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const notDir = sh(['issuer', 'init', '--dir', join(file, 'sub')]);
    expect(notDir.code).toBe(2);
    expect(notDir.out).toMatch(/a part of the path is a file, not a folder \(ENOTDIR\)/);
    expect(notDir.out).not.toMatch(/\n\s+at /);
  });

  it('load-lists help agrees with the docs, and no doc or comment cites a DESIGN document', async () => {
    const help = await cli(['terminal', 'load-lists', '--help']);
    expect(help.out).toMatch(/Safe while the daemon runs/);
    expect(readFileSync(join(ROOT, 'docs', 'terminal.md'), 'utf8')).toMatch(/Safe while the daemon runs/);
    const cites: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|md)$/.test(name) && /\bDESIGN\b/.test(readFileSync(p, 'utf8'))) cites.push(p);
      }
    };
    for (const d of ['docs', 'shared', 'terminal', 'central', 'cli', 'issuer']) walk(join(ROOT, d));
    expect(cites).toEqual([]);
  });

  it('mosquitto-config keeps central’s broker secret in a 0600 file, off stdout', async () => {
    const data = join(dir, 'm-central');
    const central = await centralInProcess(data);
    await central.stop();
    const out = join(dir, 'm-mosquitto');
    const r = await cli([
      'central',
      'mosquitto-config',
      '--data',
      data,
      '--out',
      out,
      '--broker',
      '10.0.0.5:1883',
    ]);
    expect(r.code).toBe(0);
    const secret = readFileSync(join(out, 'central.secret'), 'utf8').trim();
    expect(statSync(join(out, 'central.secret')).mode & 0o777).toBe(0o600);
    expect(r.out).not.toContain(secret);
    expect(r.out).not.toContain(encodeURIComponent(secret));
    expect(r.out).toContain(`--broker-secret-file ${join(out, 'central.secret')}`);
  });
});
