// The walkthrough in docs/central.md through the built binary: issuer init → central start --issuer →
// issuer enroll-code → terminal enroll → terminal start → issuer revoke --central → central status.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../testkit/wait.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'passgate.js');
let dir: string;
const children: ChildProcess[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function passgate(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function passgateJson<T>(...args: string[]): Promise<T> {
  const r = await passgate(...args, '--json');
  if (r.code !== 0) throw new Error(`passgate ${args.join(' ')} → exit ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Spawns a long-running command and resolves with its first stdout line (the ready line) as JSON. */
function daemon<T>(...args: string[]): Promise<{ proc: ChildProcess; ready: T }> {
  const proc = spawn(process.execPath, [bin, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ proc, ready: JSON.parse(out.slice(0, nl)) as T });
    });
    proc.once('exit', (code) =>
      reject(new Error(`passgate ${args.join(' ')} exited ${code} before it was ready: ${out}${err}`)),
    );
  });
}

const exited = (p: ChildProcess) =>
  new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', r)));

async function stop(p: ChildProcess): Promise<number | null> {
  if (p.exitCode === null) p.kill('SIGTERM');
  return exited(p);
}

interface CentralReady {
  ready: true;
  mqttPort: number;
  httpPort: number;
  mqttUrl: string;
  adminUrl: string;
  adminTokenFile: string;
  trustVersion: number;
}

interface StatusJson {
  running: boolean;
  lists: { trust: number; revocation: number };
  terminals: { id: string; role: string; online: boolean }[];
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js')))
    execFileSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')],
      { stdio: 'inherit' },
    );
  dir = mkdtempSync(join(tmpdir(), 'passgate-central-cli-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map(stop));
  rmSync(dir, { recursive: true, force: true });
});

describe('passgate central + issuer + terminal over the admin API', () => {
  it('runs the walkthrough: enroll a terminal with a code, revoke at central, see it in status', async () => {
    const issuerDir = join(dir, 'issuer');
    const data = join(dir, 'central');
    await passgateJson('issuer', 'init', '--dir', issuerDir);
    const centralArgs = ['central', 'start', '--data', data, '--mqtt-port', '0', '--http-port', '0'];
    let central = await daemon<CentralReady>(...centralArgs, '--issuer', issuerDir, '--scrypt-cost', '10');
    expect(central.ready).toMatchObject({ ready: true, trustVersion: expect.any(Number) });
    const trustVersion = central.ready.trustVersion;
    expect(central.ready.mqttPort).toBeGreaterThan(0);
    expect(central.ready.httpPort).toBeGreaterThan(0);
    expect(central.ready.adminTokenFile).toBe(join(data, 'admin.token'));
    let url = central.ready.adminUrl;

    // enrollment: a one-time code at central, redeemed by the terminal
    const made = await passgateJson<{ code: string; terminal: string }>(
      ...['issuer', 'enroll-code', '--central', url, '--central-data', data],
      ...['--terminal', 'gate-cli', '--role', 'turnstile', '--ttl', '600'],
    );
    expect(made.terminal).toBe('gate-cli');
    const human = await passgate(
      ...['issuer', 'enroll-code', '--central', url, '--central-data', data],
      ...['--terminal', 'gate-other', '--role', 'kiosk'],
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/One-time enrollment code for terminal gate-other \(kiosk\), valid 24 h/);
    expect(human.stdout).toMatch(/passgate terminal enroll --central/);

    const termDir = join(dir, 'gate-cli');
    const enrolled = await passgateJson<{ terminalId: string; configFile: string }>(
      ...['terminal', 'enroll', '--central', url, '--code', made.code, '--dir', termDir, '--gate', 'north'],
    );
    expect(enrolled).toMatchObject({ terminalId: 'gate-cli', configFile: join(termDir, 'terminal.json') });
    const config = JSON.parse(readFileSync(enrolled.configFile, 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ terminalId: 'gate-cli', role: 'turnstile', gate: 'north' });
    // the code works once
    const reused = await passgate(
      ...['terminal', 'enroll', '--central', url, '--code', made.code, '--dir', join(dir, 'again')],
    );
    expect(reused.code).toBe(2);
    expect(reused.stderr).toMatch(/unknown, already used or expired/);

    // the terminal runs with what enrollment wrote and shows up online at central
    const terminal = await daemon<{ ready: boolean }>('terminal', 'start', '--config', enrolled.configFile);
    expect(terminal.ready.ready).toBe(true);
    await waitFor(
      'terminal online at central',
      async () =>
        (await passgateJson<StatusJson>('central', 'status', '--data', data)).terminals.some(
          (t) => t.id === 'gate-cli' && t.online,
        ),
      30_000,
    );

    // revoke and suspend at the running central
    const cti = '0123456789abcdef0123456789abcdef';
    const revoked = await passgateJson<{ revocationVersion: number }>(
      ...['issuer', 'revoke', '--central', url, '--central-data', data, '--cti', cti],
    );
    const suspended = await passgateJson<{ revocationVersion: number }>(
      ...['issuer', 'suspend', '--central', url, '--central-data', data, '--sub', 'p-frozen'],
    );
    expect(suspended.revocationVersion).toBe(revoked.revocationVersion + 1);
    const status = await passgateJson<StatusJson>('central', 'status', '--data', data);
    expect(status).toMatchObject({
      running: true,
      lists: { trust: trustVersion, revocation: suspended.revocationVersion },
    });
    const text = await passgate('central', 'status', '--data', data);
    expect(text.stdout).toMatch(`revocation v${suspended.revocationVersion}`);
    expect(text.stdout).toMatch(/gate-cli\s+turnstile\s+online/);

    // wrong token, missing token, --dir and --central together: plain errors, nothing changed
    const wrong = await passgate(
      ...['issuer', 'revoke', '--central', url, '--token', 'f'.repeat(64), '--cti', cti.replace('0', 'f')],
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/wrong admin token: pass --central-data DIR or --token/);
    const noToken = await passgate('issuer', 'revoke', '--central', url, '--cti', cti);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/--central-data DIR/);
    const both = await passgate('issuer', 'revoke', '--dir', issuerDir, '--central', url, '--cti', cti);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give one of --dir DIR .* or --central-data DIR \/ --central URL/);
    expect((await passgateJson<StatusJson>('central', 'status', '--data', data)).lists.revocation).toBe(
      suspended.revocationVersion,
    );

    // restart with the same issuer: its key is already trusted, no new trust-list version
    await stop(terminal.proc);
    expect(await stop(central.proc)).toBe(0);
    const unreachable = await passgate(
      'issuer',
      'revoke',
      '--central',
      url,
      '--central-data',
      data,
      '--cti',
      cti,
    );
    expect(unreachable.stderr).toMatch(
      /central is not reachable at .*: is `passgate central start` running\?/,
    );
    central = await daemon<CentralReady>(...centralArgs, '--issuer', issuerDir, '--scrypt-cost', '10');
    expect(central.ready.trustVersion).toBe(trustVersion);
    url = central.ready.adminUrl;
    expect((await passgateJson<StatusJson>('central', 'status', '--data', data)).lists.trust).toBe(
      trustVersion,
    );
    await stop(central.proc);

    // a data folder bound to the issuer's list key refuses to start without --issuer
    const without = await passgate(...centralArgs);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/pass --issuer again/);
  }, 120_000);
});
