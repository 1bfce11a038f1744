// The technician's path against a real central (embedded broker over MQTT/TLS, HTTPS enrollment listener
// with a self-signed certificate pinned by fingerprint) and a real terminal daemon (bin/passgate.js, a
// child process), in temporary folders:
// enroll from the string → doctor all ✔ → break one thing at a time → matching ✖ and fix → fix → ✔;
// wrong, reused, expired, mistyped codes; enroll twice; config; scan-test; rotate while events flow (none
// lost); decommission with and without unsynced events.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSignedCertificate } from '../../central/enroll-cert.js';
import { startCentral, type Central } from '../../central/index.js';
import { main } from '../../cli/main.js';
import { decodeEnrollment, encodeEnrollment } from '../../shared/enrollment-string.js';
import { probeBroker } from '../../provisioning/broker-probe.js';
import { commandExists, freePort, requireComponent } from '../../testkit/components.js';
import { waitFor } from '../../testkit/wait.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'passgate.js');
const built = existsSync(join(root, 'dist', 'cli', 'main.js'));
const haveSocat = requireComponent('socat', commandExists('socat'), 'apt-get install socat');
const haveOpenssl = requireComponent('openssl', commandExists('openssl'), 'apt-get install openssl');

let tmp: string;
let centralDir: string;
let central: Central | undefined;
let mqttPort: number;
let enrollPort: number;
let tls: { certFile: string; keyFile: string };
let daemon: ChildProcess | undefined;
const children: ChildProcess[] = [];

async function startTestCentral(): Promise<Central> {
  central = await startCentral({
    dataDir: centralDir,
    mqttPort,
    mqttHost: '127.0.0.1',
    httpPort: 0,
    tls,
    scryptCost: 10,
    beaconEveryMs: 1000,
    logger: pino({ level: 'silent' }),
    enroll: { port: enrollPort, host: '127.0.0.1', publicHost: '127.0.0.1', burst: 200, perMinute: 600 },
  });
  return central;
}

async function stopTestCentral(): Promise<void> {
  await central?.stop();
  central = undefined;
}

/** Runs `passgate …` in this process; resolves with the exit code and what it printed. */
async function passgate(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
  return { code, out, err };
}

async function doctor(dir: string, ...extra: string[]) {
  const r = await passgate('provision', 'doctor', '--dir', dir, '--json', '--timeout', '5', ...extra);
  const parsed = JSON.parse(r.out) as {
    ok: boolean;
    checks: { id: string; status: string; detail: string; fix?: string }[];
  };
  const failed = parsed.checks.filter((c) => c.status === 'fail');
  return {
    code: r.code,
    checks: parsed.checks,
    failed,
    byId: (id: string) => parsed.checks.find((c) => c.id === id)!,
  };
}

async function newEnrollment(terminal: string, ttlMs?: number): Promise<string> {
  const code = await central!.createEnrollmentCode(terminal, 'turnstile', ttlMs);
  return central!.enrollment!.stringFor(code).enrollment;
}

function startDaemon(dir: string): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    [bin, 'terminal', 'start', '--config', join(dir, 'terminal.json'), '--json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(proc);
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n') && out.includes('"ready"')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${out}${err}`)));
  });
}

async function stopDaemon(): Promise<void> {
  const p = daemon;
  daemon = undefined;
  if (!p || p.exitCode !== null) return;
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
}

function runtime(dir: string): { tcpPort: number; httpPort: number; pid: number } {
  return JSON.parse(readFileSync(join(dir, 'daemon.json'), 'utf8')) as {
    tcpPort: number;
    httpPort: number;
    pid: number;
  };
}

/** Sends one line to the daemon's TCP input; resolves with its JSON answer. */
function sendLine(port: number, line: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        s.end();
        resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      }
    });
    s.on('error', reject);
    s.write(line + '\n');
  });
}

function lastSeq(dir: string): number {
  const db = new Database(join(dir, 'terminal.db'), { readonly: true });
  try {
    return (db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").get() as { value: number }).value;
  } finally {
    db.close();
  }
}

const mode = (f: string) => statSync(f).mode & 0o777;

beforeAll(async () => {
  if (!built || !haveOpenssl) return;
  tmp = mkdtempSync(join(tmpdir(), 'pg-prov-'));
  centralDir = join(tmp, 'central');
  tls = ensureSelfSignedCertificate(centralDir, ['127.0.0.1']);
  mqttPort = await freePort();
  enrollPort = await freePort();
  await startTestCentral();
});

afterAll(async () => {
  if (!tmp) return;
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stopTestCentral();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!built || !haveOpenssl)('provisioning against a real central', () => {
  let dir: string;
  let enrollment: string;

  it('issuer enroll-code prints one string and a QR code; the string carries address and fingerprint', async () => {
    const token = readFileSync(join(centralDir, 'admin.token'), 'utf8').trim();
    const args = [
      'issuer',
      'enroll-code',
      '--central',
      `http://127.0.0.1:${central!.httpPort}`,
      '--token',
      token,
    ];
    const human = await passgate(...args, '--terminal', 'gate-0', '--role', 'turnstile');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/PGE1:[A-Z2-7]+/);
    expect(human.out).toMatch(/[▀▄█]/); // the QR code, in half blocks
    const r = await passgate(...args, '--terminal', 'gate-1', '--role', 'turnstile', '--json');
    const j = JSON.parse(r.out) as { enrollment: string; fingerprint: string };
    const e = decodeEnrollment(j.enrollment);
    expect(e).toMatchObject({
      host: '127.0.0.1',
      port: enrollPort,
      fingerprint: central!.enrollment!.fingerprint,
    });
    enrollment = j.enrollment;
  });

  it('refuses mistyped, unknown, expired and wrongly pinned strings, writing nothing', async () => {
    const target = join(tmp, 'refused');
    // mistyped: one character changed → the checksum catches it before any network call
    const i = enrollment.length - 6;
    const typo = enrollment.slice(0, i) + (enrollment[i] === 'A' ? 'B' : 'A') + enrollment.slice(i + 1);
    const mistyped = await passgate('provision', 'enroll', typo, '--dir', target);
    expect(mistyped.code).toBe(2);
    expect(mistyped.err).toMatch(/mistyped/);
    const e = decodeEnrollment(enrollment);
    const unknown = await passgate(
      'provision',
      'enroll',
      encodeEnrollment({ ...e, code: 'not-a-real-code' }),
      '--dir',
      target,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/unknown, already used or expired/);
    const expiredString = await newEnrollment('gate-x', 1);
    await new Promise((r) => setTimeout(r, 20));
    const expired = await passgate('provision', 'enroll', expiredString, '--dir', target);
    expect(expired.code).toBe(1);
    expect(expired.err).toMatch(/expired/);
    const wrongPin = await passgate(
      'provision',
      'enroll',
      encodeEnrollment({ ...e, fingerprint: 'ab'.repeat(32) }),
      '--dir',
      target,
      '--json',
    );
    expect(wrongPin.code).toBe(1);
    expect(JSON.parse(wrongPin.out)).toMatchObject({ ok: false, error: 'pin_mismatch' });
    expect(existsSync(target)).toBe(false);
  });

  it('enrolls from the string: key and secret 0600, folder 0700, broker pinned; a reused code is refused', async () => {
    dir = join(tmp, 'gate-1');
    const r = await passgate(
      'provision',
      'enroll',
      enrollment,
      '--dir',
      dir,
      '--gate',
      'north',
      '--tcp-port',
      '0',
      '--http-port',
      '0',
      '--json',
    );
    expect(r.code, r.err + r.out).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      ok: true,
      terminalId: 'gate-1',
      gate: 'north',
      mqttPinned: true,
    });
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'terminal-key.json'))).toBe(0o600);
    expect(mode(join(dir, 'mqtt.secret'))).toBe(0o600);
    expect(readFileSync(join(dir, 'central-ca.pem'), 'utf8')).toBe(readFileSync(tls.certFile, 'utf8'));
    const reused = await passgate('provision', 'enroll', enrollment, '--dir', join(tmp, 'again'));
    expect(reused.code).toBe(1);
    expect(existsSync(join(tmp, 'again'))).toBe(false);
  });

  it('enrolling an enrolled folder twice is refused without --force, and nothing changes', async () => {
    const before = readFileSync(join(dir, 'terminal-key.json'), 'utf8');
    const second = await newEnrollment('gate-1b');
    const r = await passgate('provision', 'enroll', second, '--dir', dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/already enrolled/);
    expect(readFileSync(join(dir, 'terminal-key.json'), 'utf8')).toBe(before);
    // `terminal enroll` is the same command
    const alias = await passgate('terminal', 'enroll', second, '--dir', dir);
    expect(alias.code).toBe(1);
  });

  it('doctor is all ✔ before the first start and with the daemon running', async () => {
    const before = await doctor(dir);
    expect(before.failed, JSON.stringify(before.failed)).toEqual([]);
    expect(before.byId('broker').detail).toMatch(/credentials accepted/);
    expect(before.byId('tls').detail).toMatch(/broker certificate pinned; enrollment listener pinned/);
    daemon = await startDaemon(dir);
    await waitFor(
      'doctor all ✔ with lists',
      async () =>
        (await doctor(dir)).failed.length === 0 && (await doctor(dir)).byId('lists').status === 'ok',
      20_000,
    );
    const d = await doctor(dir);
    expect(d.code).toBe(0);
    expect(d.byId('daemon').status).toBe('ok');
    expect(d.byId('database').detail).toMatch(/integrity ok/);
    const human = await passgate('provision', 'doctor', '--dir', dir, '--timeout', '5');
    expect(human.out).toMatch(/✔ node/);
    expect(human.out).toMatch(/All checks passed/);
  });

  it('a secret file readable by others → ✖ permissions with chmod 600 → fixed → ✔', async () => {
    chmodSync(join(dir, 'mqtt.secret'), 0o644);
    const d = await doctor(dir);
    expect(d.code).toBe(1);
    expect(d.failed.map((c) => c.id)).toEqual(['permissions']);
    expect(d.byId('permissions').fix).toContain(`chmod 600 ${join(dir, 'mqtt.secret')}`);
    chmodSync(join(dir, 'mqtt.secret'), 0o600);
    expect((await doctor(dir)).failed).toEqual([]);
  });

  it('a wrong pinned certificate → ✖ tls → fixed → ✔', async () => {
    const file = join(dir, 'provision.json');
    const good = readFileSync(file, 'utf8');
    const rec = JSON.parse(good) as { enroll: { fingerprint: string } };
    rec.enroll.fingerprint = 'cd'.repeat(32);
    writeFileSync(file, JSON.stringify(rec));
    const d = await doctor(dir);
    expect(d.failed.map((c) => c.id)).toEqual(['tls']);
    expect(d.byId('tls').fix).toMatch(/enroll again|intercepting/);
    writeFileSync(file, good);
    expect((await doctor(dir)).failed).toEqual([]);
  });

  it('broker down → ✖ broker (and the outbox waits) → central back → ✔', async () => {
    await stopTestCentral();
    const d = await doctor(dir);
    expect(d.failed.map((c) => c.id)).toContain('broker');
    expect(d.byId('broker').detail).toMatch(/not reachable/);
    expect(d.byId('broker').fix).toMatch(/network/);
    await startTestCentral();
    await waitFor(
      'doctor ✔ after central is back',
      async () => (await doctor(dir)).failed.length === 0,
      20_000,
    );
  });

  it('serial port missing → ✖ serial → back → ✔; pcscd down → ✖ pcscd → up → ✔', async () => {
    const pcscd = join(tmp, 'pcscd.comm');
    const port = join(tmp, 'scanner');
    const rec = JSON.parse(readFileSync(join(dir, 'provision.json'), 'utf8')) as Record<string, unknown>;
    rec.expect = { pcsc: true, ...(haveSocat ? { serial: [port] } : {}) };
    writeFileSync(join(dir, 'provision.json'), JSON.stringify(rec));
    const fakePcscd = (): Promise<Server> =>
      new Promise((r) => {
        const s = createServer((c) => c.destroy());
        s.listen(pcscd, () => r(s));
      });
    const startPty = () => {
      const p = spawn('socat', [`pty,raw,echo=0,link=${port}`, `pty,raw,echo=0,link=${port}-host`], {
        stdio: 'ignore',
      });
      children.push(p);
      return p;
    };
    let server = await fakePcscd();
    let socat = haveSocat ? startPty() : undefined;
    if (socat) await waitFor('socat pty', () => existsSync(port), 5000);
    expect((await doctor(dir, '--pcscd-socket', pcscd)).failed).toEqual([]);

    await new Promise((r) => server.close(r));
    const down = await doctor(dir, '--pcscd-socket', pcscd);
    expect(down.failed.map((c) => c.id)).toEqual(['pcscd']);
    expect(down.byId('pcscd').fix).toMatch(/systemctl start pcscd/);
    server = await fakePcscd();
    expect((await doctor(dir, '--pcscd-socket', pcscd)).failed).toEqual([]);

    if (socat) {
      socat.kill('SIGTERM');
      await waitFor('pty gone', () => !existsSync(port), 5000);
      const missing = await doctor(dir, '--pcscd-socket', pcscd);
      expect(missing.failed.map((c) => c.id)).toEqual(['serial']);
      expect(missing.byId('serial').fix).toMatch(/plug the scanner in/);
      socat = startPty();
      await waitFor('socat pty again', () => existsSync(port), 5000);
      expect((await doctor(dir, '--pcscd-socket', pcscd)).failed).toEqual([]);
      socat.kill('SIGTERM');
    }
    await new Promise((r) => server.close(r));
    delete rec.expect;
    writeFileSync(join(dir, 'provision.json'), JSON.stringify(rec));
  });

  it('status and config get/set (validated, allowed values named; the daemon reloads)', async () => {
    const s = await passgate('provision', 'status', '--dir', dir, '--json');
    expect(JSON.parse(s.out)).toMatchObject({
      terminalId: 'gate-1',
      role: 'turnstile',
      online: true,
      daemon: { running: true },
    });
    const bad = await passgate('provision', 'config', 'set', 'directions', '["in","sideways"]', '--dir', dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/in, out/);
    const badNum = await passgate('provision', 'config', 'set', 'staleness.warnHours', 'soon', '--dir', dir);
    expect(badNum.code).toBe(2);
    expect(badNum.err).toMatch(/a number/);
    const owned = await passgate('provision', 'config', 'set', 'terminalId', 'other', '--dir', dir);
    expect(owned.code).toBe(2);
    const ok = await passgate('provision', 'config', 'set', 'capacity', '50', '--dir', dir);
    expect(ok.code, ok.err).toBe(0);
    const got = await passgate('provision', 'config', 'get', 'capacity', '--dir', dir, '--json');
    expect(JSON.parse(got.out)).toMatchObject({ value: 50, effective: 50 });
    // the daemon restarted in place with the new config and is healthy again
    await waitFor('doctor ✔ after reload', async () => (await doctor(dir)).failed.length === 0, 20_000);
  });

  it('stale lists → ✖ lists → central publishes newer lists → ✔', async () => {
    await stopDaemon();
    const db = new Database(join(dir, 'terminal.db'));
    db.prepare('UPDATE list_versions SET issued_at = issued_at - 100 * 3600').run();
    db.close();
    const d = await doctor(dir);
    expect(d.failed.map((c) => c.id)).toEqual(['lists']);
    expect(d.byId('lists').fix).toMatch(/start the daemon/);
    daemon = await startDaemon(dir);
    await central!.revoke('00'.repeat(15) + '01');
    await central!
      .trustIssuerKey({ alg: 'EdDSA', publicKey: new Uint8Array(32).fill(3), issuer: 'test' })
      .catch(() => undefined);
    await waitFor('fresh lists', async () => (await doctor(dir)).byId('lists').status === 'ok', 20_000);
  });

  it('a corrupt database → ✖ database with terminal recover → recovered → ✔', async () => {
    await stopDaemon();
    const file = join(dir, 'terminal.db');
    const bytes = readFileSync(file);
    const junk = Buffer.alloc(4096, 0x5a);
    junk.copy(bytes, 4096);
    writeFileSync(file, bytes);
    const d = await doctor(dir);
    expect(d.failed.map((c) => c.id)).toContain('database');
    expect(d.byId('database').fix).toMatch(/passgate terminal recover --config/);
    const rec = spawnSync(
      process.execPath,
      [bin, 'terminal', 'recover', '--config', join(dir, 'terminal.json')],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(rec.status, rec.stderr + rec.stdout).toBe(0);
    const after = await doctor(dir);
    expect(after.byId('database').status).toBe('ok');
  });

  it('scan-test shows reads and dry-run decisions, records nothing; refused while the daemon runs', async () => {
    daemon = await startDaemon(dir);
    const running = await passgate('provision', 'scan-test', '--dir', dir, '--count', '1');
    expect(running.code).toBe(1);
    expect(running.err).toMatch(/stop it first/);
    await stopDaemon();
    const seq = lastSeq(dir);
    let out = '';
    let ready!: (port: number) => void;
    const portReady = new Promise<number>((r) => (ready = r));
    const done = main(['provision', 'scan-test', '--dir', dir, '--count', '2', '--seconds', '20'], {
      out: (t) => {
        out += t + '\n';
        const m = /tcp 127\.0\.0\.1:(\d+)/.exec(t);
        if (m) ready(Number(m[1]));
      },
      err: () => undefined,
    });
    const port = await portReady;
    expect(await sendLine(port, 'PG1:NOTAREALCODE')).toMatchObject({
      decision: 'deny',
      reason: 'malformed',
      seq: null,
    });
    expect(await sendLine(port, 'card:04a1b2c3')).toMatchObject({ decision: 'deny', seq: null });
    expect(await done).toBe(0);
    expect(out).toMatch(/QR code \(PG1, 16 chars\) → would DENY \(malformed/);
    expect(out).toMatch(/card \(UID hash [0-9a-f]{8}…\) → would DENY/);
    expect(out).not.toContain('04a1b2c3');
    expect(lastSeq(dir)).toBe(seq);
  });

  it('rotate while events flow: new key and secret, old ones revoked, no event lost', async () => {
    daemon = await startDaemon(dir);
    const oldSecret = readFileSync(join(dir, 'mqtt.secret'), 'utf8').trim();
    const { tcpPort } = runtime(dir);
    let sending = true;
    let sent = 0;
    const flow = (async () => {
      while (sending) {
        const r = await sendLine(tcpPort, `PG1:FLOW${sent}`);
        if (r.seq !== null) sent++;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    await waitFor('events flowing', () => sent >= 10, 10_000);
    const r = await passgate('provision', 'rotate', '--dir', dir, '--json');
    expect(r.code, r.err + r.out).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, daemonReloaded: true });
    const atRotate = sent;
    await waitFor('events after the rotation', () => sent >= atRotate + 10, 10_000);
    sending = false;
    await flow;
    const last = lastSeq(dir);
    await waitFor(
      'every event at central',
      async () => (await central!.eventCount('gate-1')) >= last,
      20_000,
    );
    const events = await central!.events('gate-1', 0, 100_000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    // the old secret is refused, the new one works
    const ca = readFileSync(join(dir, 'central-ca.pem'), 'utf8');
    const url = `mqtts://127.0.0.1:${mqttPort}`;
    expect(await probeBroker({ url, username: 'gate-1', password: oldSecret, ca })).toMatchObject({
      outcome: 'refused',
    });
    const newSecret = readFileSync(join(dir, 'mqtt.secret'), 'utf8').trim();
    expect(newSecret).not.toBe(oldSecret);
    expect(await probeBroker({ url, username: 'gate-1', password: newSecret, ca })).toEqual({
      outcome: 'accepted',
    });
    expect(existsSync(join(dir, 'mqtt.secret.old'))).toBe(false);
    // status shows the decisions by reason (from the daemon's metrics)
    const s = JSON.parse((await passgate('provision', 'status', '--dir', dir, '--json')).out) as {
      recentReasons: Record<string, number>;
    };
    expect(s.recentReasons.malformed).toBeGreaterThan(0);
  });

  it('decommission refuses while events are unsynced (naming the count), then drains, retires and wipes', async () => {
    await stopTestCentral();
    const { tcpPort } = runtime(dir);
    for (let i = 0; i < 3; i++) await sendLine(tcpPort, `PG1:OFFLINE${i}`);
    const refused = await passgate('provision', 'decommission', '--dir', dir, '--wait', '1');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/3 event\(s\) have not reached central/);
    expect(existsSync(join(dir, 'terminal-key.json'))).toBe(true);
    await startTestCentral();
    const r = await passgate('provision', 'decommission', '--dir', dir, '--wait', '30', '--json');
    expect(r.code, r.err + r.out).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, unsyncedLost: 0, centralTold: true });
    daemon = undefined;
    for (const f of ['terminal-key.json', 'mqtt.secret', 'terminal.db', 'terminal.json'])
      expect(existsSync(join(dir, f))).toBe(false);
    // central kept the events; the retired id can no longer log in
    const count = await central!.eventCount('gate-1');
    expect(count).toBeGreaterThan(20);
    const rec = await central!.store.terminal('gate-1');
    expect(rec?.retiredAt).toBeTypeOf('number');
  });

  it('decommission --force with central unreachable wipes anyway and names the lost events', async () => {
    const d2 = join(tmp, 'gate-2');
    const e = await newEnrollment('gate-2');
    expect(
      (await passgate('provision', 'enroll', e, '--dir', d2, '--tcp-port', '0', '--http-port', '0')).code,
    ).toBe(0);
    daemon = await startDaemon(d2);
    await stopTestCentral();
    const { tcpPort } = runtime(d2);
    for (let i = 0; i < 2; i++) await sendLine(tcpPort, `PG1:LOST${i}`);
    const r = await passgate('provision', 'decommission', '--dir', d2, '--wait', '1', '--force', '--json');
    expect(r.code, r.err + r.out).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, unsyncedLost: 2, centralTold: false });
    daemon = undefined;
    expect(existsSync(join(d2, 'terminal-key.json'))).toBe(false);
    await startTestCentral();
  });

  it('enroll --force replaces an enrolled folder and keeps the old identity aside', async () => {
    const d3 = join(tmp, 'gate-3');
    expect((await passgate('provision', 'enroll', await newEnrollment('gate-3'), '--dir', d3)).code).toBe(0);
    const oldKey = readFileSync(join(d3, 'terminal-key.json'), 'utf8');
    const r = await passgate(
      'provision',
      'enroll',
      await newEnrollment('gate-3b'),
      '--dir',
      d3,
      '--force',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { terminalId: string; replacedInto: string };
    expect(j.terminalId).toBe('gate-3b');
    expect(readFileSync(join(j.replacedInto, 'terminal-key.json'), 'utf8')).toBe(oldKey);
    expect(JSON.parse(readFileSync(join(d3, 'terminal.json'), 'utf8'))).toMatchObject({
      terminalId: 'gate-3b',
    });
    expect(mode(join(d3, 'terminal-key.json'))).toBe(0o600);
  });

  it('rotate with the daemon stopped proves the new secret with one broker login; terminal enroll is an alias', async () => {
    const d4 = join(tmp, 'gate-4');
    const alias = await passgate('terminal', 'enroll', await newEnrollment('gate-4'), '--dir', d4);
    expect(alias.code, alias.err).toBe(0);
    const oldSecret = readFileSync(join(d4, 'mqtt.secret'), 'utf8').trim();
    const r = await passgate('provision', 'rotate', '--dir', d4, '--json');
    expect(r.code, r.err + r.out).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, daemonReloaded: false });
    const ca = readFileSync(join(d4, 'central-ca.pem'), 'utf8');
    const url = `mqtts://127.0.0.1:${mqttPort}`;
    expect(await probeBroker({ url, username: 'gate-4', password: oldSecret, ca })).toMatchObject({
      outcome: 'refused',
    });
    expect((await doctor(d4)).byId('broker').status).toBe('ok');
  });
});
