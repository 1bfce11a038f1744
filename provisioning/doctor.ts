// `provision doctor`: one line per check, ✔ / ✖ (with how to fix it) / – (not applicable here).
// Read-only and safe while the daemon runs: the database is opened read-only, the broker is probed under
// its own client id, the daemon's own view comes from its local /status, hardware is looked at, not
// opened.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { ConfigError, loadConfig, type TerminalConfig } from '../terminal/config.js';
import { showFingerprint } from '../shared/enrollment-string.js';
import { probeBroker } from './broker-probe.js';
import {
  DEFAULT_PCSCD_SOCKET,
  expectedHardware,
  hidDevicesPresent,
  listSerialPorts,
  pcscdAnswers,
  serialPresent,
  type ExpectSection,
} from './hardware.js';
import { peerFingerprint } from './pinned.js';
import { run, which } from './process.js';
import { daemonReport, type DaemonReport } from './daemon-client.js';
import { DbUnreadable, readDb, type DbFacts } from './terminal-db.js';
import {
  paths,
  readProvisionRecord,
  runningDaemon,
  type DaemonRuntime,
  type ProvisionRecord,
} from './terminal-dir.js';
import { SERVICE_NAME } from './service.js';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  /** What was found, in plain words. */
  detail: string;
  /** For a ✖: what to do. */
  fix?: string;
}

export interface DoctorOptions {
  dir: string;
  pcscdSocket?: string;
  /** Minimum free space on the data folder's disk (default 200 MiB). */
  minFreeBytes?: number;
  /** An unsynced event older than this is a ✖ (default 10 minutes). */
  maxUnsyncedAgeMs?: number;
  timeoutMs?: number;
  now?: number;
}

interface Context {
  o: DoctorOptions;
  p: ReturnType<typeof paths>;
  raw?: Record<string, unknown>;
  config?: TerminalConfig;
  record?: ProvisionRecord & { expect?: ExpectSection };
  daemon?: DaemonRuntime;
  report?: DaemonReport;
  db?: DbFacts | undefined;
  now: number;
}

const MIN_NODE: [number, number] = [20, 19];

const ok = (id: string, detail: string): CheckResult => ({ id, status: 'ok', detail });
const fail = (id: string, detail: string, fix: string): CheckResult => ({ id, status: 'fail', detail, fix });
const skip = (id: string, detail: string): CheckResult => ({ id, status: 'skip', detail });

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} days`;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function checkNode(): CheckResult {
  const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
  if (maj > MIN_NODE[0] || (maj === MIN_NODE[0] && min >= MIN_NODE[1]))
    return ok('node', `Node.js ${process.versions.node}`);
  return fail(
    'node',
    `Node.js ${process.versions.node} is older than ${MIN_NODE.join('.')}`,
    'install Node.js 20.19 or newer (e.g. from NodeSource) and run passgate again',
  );
}

function checkConfig(c: Context): CheckResult {
  if (!existsSync(c.p.config))
    return fail(
      'config',
      `${c.p.config} not found: this folder is not enrolled`,
      'passgate provision enroll STRING --dir ' + c.p.dir,
    );
  try {
    c.raw = JSON.parse(readFileSync(c.p.config, 'utf8')) as Record<string, unknown>;
  } catch {
    // reported by loadConfig below
  }
  try {
    c.config = loadConfig(c.p.config);
    return ok('config', `${c.config.terminalId} (${c.config.role}, gate ${c.config.gate})`);
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
    return fail(
      'config',
      `terminal.json is not valid: ${problems}`,
      'passgate provision config set KEY VALUE (or fix the named settings in terminal.json)',
    );
  }
}

function mode(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}

function checkPermissions(c: Context): CheckResult {
  const problems: string[] = [];
  const fixes: string[] = [];
  const dirMode = mode(c.p.dir);
  if (dirMode !== undefined && (dirMode & 0o027) !== 0) {
    problems.push(`${c.p.dir} is ${dirMode.toString(8)} (others can read or group can write)`);
    fixes.push(`chmod 700 ${c.p.dir}`);
  }
  const secrets = [
    c.config?.signingKeyFile ?? c.p.key,
    c.config?.mqtt?.passwordFile,
    c.config?.cardKeyFile,
  ].filter((f): f is string => f !== undefined);
  for (const f of secrets) {
    const m = mode(f);
    if (m === undefined) {
      problems.push(`${f} is missing`);
      fixes.push('enroll again: passgate provision enroll STRING --force');
    } else if ((m & 0o077) !== 0) {
      problems.push(`${f} is ${m.toString(8)} (secret: must be 600)`);
      fixes.push(`chmod 600 ${f}`);
    }
  }
  for (const f of [c.p.db, `${c.p.db}-wal`]) {
    const m = mode(f);
    if (m !== undefined && (m & 0o002) !== 0) {
      problems.push(`${f} is ${m.toString(8)} (anyone can write it)`);
      fixes.push(`chmod 600 ${f}`);
    }
  }
  if (problems.length > 0) return fail('permissions', problems.join('; '), fixes.join(' && '));
  return ok('permissions', `folder ${dirMode?.toString(8) ?? '?'}, key and secrets 600`);
}

function checkDatabase(c: Context): CheckResult {
  if (!existsSync(c.p.db))
    return skip('database', 'terminal.db not created yet (the daemon creates it on first start)');
  try {
    c.db = readDb(c.p.db);
  } catch (err) {
    if (err instanceof DbUnreadable)
      return fail('database', err.message, `passgate terminal recover --config ${c.p.config}`);
    throw err;
  }
  if (c.db.integrity !== 'ok') {
    const detail = `integrity_check: ${c.db.integrity.slice(0, 160)}`;
    c.db = undefined;
    return fail(
      'database',
      detail,
      `stop the daemon, then passgate terminal recover --config ${c.p.config} (keeps the outbox, rebuilds the rest)`,
    );
  }
  return ok('database', `integrity ok, ${mib(c.db.sizeBytes)}`);
}

function checkDisk(c: Context): CheckResult {
  const min = c.o.minFreeBytes ?? 200 * 1048576;
  try {
    const s = statfsSync(existsSync(c.p.dir) ? c.p.dir : '/');
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const detail = `${mib(free)} free of ${mib(total)}`;
    if (free < min)
      return fail(
        'disk',
        `${detail} (below ${mib(min)})`,
        'free space: sudo journalctl --vacuum-size=50M; remove old files under /var/log and /tmp',
      );
    return ok('disk', detail);
  } catch (err) {
    return fail(
      'disk',
      `cannot read free space: ${(err as Error).message}`,
      'check that the data folder exists',
    );
  }
}

async function checkClock(c: Context): Promise<CheckResult> {
  const now = c.now;
  if (now < Date.UTC(2024, 0, 1))
    return fail(
      'clock',
      `system time ${new Date(now).toISOString()} is before 2024`,
      'enable NTP: sudo timedatectl set-ntp true (and check network access to NTP)',
    );
  const last = Math.max(c.db?.lastEventAt ?? 0, c.db?.lastGoodMs ?? 0);
  if (last > now + 60_000)
    return fail(
      'clock',
      `system time is ${age(last - now)} behind the last recorded event`,
      'set the time (sudo timedatectl set-ntp true); the daemon reports clock_untrusted until it catches up',
    );
  const daemonClock = c.report?.clock ? `, daemon clock ${c.report.clock}` : '';
  if (c.report?.clock === 'untrusted')
    return fail(
      'clock',
      `daemon clock untrusted${daemonClock}`,
      'enable NTP (sudo timedatectl set-ntp true) and connect to central for time beacons',
    );
  if (which('timedatectl')) {
    const r = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], 5000);
    const v = r.stdout.trim();
    if (r.code === 0 && v === 'no')
      return fail(
        'clock',
        `NTP not synchronised${daemonClock}`,
        'sudo timedatectl set-ntp true; check that udp/123 reaches an NTP server',
      );
    if (r.code === 0 && v === 'yes') return ok('clock', `NTP synchronised${daemonClock}`);
  }
  return ok('clock', `time plausible; NTP state unknown (no timedatectl/systemd)${daemonClock}`);
}

async function checkBroker(c: Context): Promise<CheckResult> {
  const m = c.config?.mqtt;
  if (!m) return skip('broker', 'no mqtt section: this terminal runs offline');
  let password = '';
  try {
    password = m.passwordFile ? readFileSync(m.passwordFile, 'utf8').trim() : '';
  } catch {
    return fail(
      'broker',
      `cannot read ${m.passwordFile}`,
      'enroll again: passgate provision enroll STRING --force',
    );
  }
  let ca: string | undefined;
  if (m.caFile) {
    try {
      ca = readFileSync(m.caFile, 'utf8');
    } catch {
      return fail(
        'broker',
        `cannot read ${m.caFile}`,
        'enroll again: passgate provision enroll STRING --force',
      );
    }
  }
  const r = await probeBroker({
    url: m.url,
    username: m.username ?? c.config!.terminalId,
    password,
    ...(ca ? { ca } : {}),
    timeoutMs: c.o.timeoutMs ?? 8000,
  });
  const host = new URL(m.url).host;
  switch (r.outcome) {
    case 'accepted':
      return ok(
        'broker',
        `${host} reachable, credentials accepted${c.report?.mqtt ? `; daemon ${c.report.mqtt.connected ? 'connected' : 'not connected'}` : ''}`,
      );
    case 'refused':
      return fail(
        'broker',
        `${host} refused the credentials (MQTT code ${r.code})`,
        'the secret no longer matches central (rotated or retired?): passgate provision rotate, or enroll again with a new string',
      );
    case 'tls':
      return fail(
        'broker',
        `${host}: TLS failed (${r.error})`,
        "central's broker certificate changed: check with central's operator, then enroll again (--force)",
      );
    case 'unreachable':
      return fail(
        'broker',
        `${host} not reachable (${r.error})`,
        `check the network and that central runs; try: nc -vz ${new URL(m.url).hostname} ${new URL(m.url).port || 1883}`,
      );
  }
}

async function checkTls(c: Context): Promise<CheckResult> {
  const rec = c.record;
  const m = c.config?.mqtt;
  if (!rec) return skip('tls', 'no provision.json (enrolled without a pinned certificate)');
  const found: string[] = [];
  const timeout = c.o.timeoutMs ?? 8000;
  if (m?.url.startsWith('mqtts:') && rec.mqttFingerprint) {
    if (m.caFile && existsSync(m.caFile)) {
      const fileFp = new X509Certificate(readFileSync(m.caFile)).fingerprint256
        .replaceAll(':', '')
        .toLowerCase();
      if (fileFp !== rec.mqttFingerprint)
        return fail(
          'tls',
          `${m.caFile} is not the certificate pinned at enrollment`,
          'enroll again with a new string (passgate provision enroll STRING --force)',
        );
    }
    const u = new URL(m.url);
    try {
      const fp = await peerFingerprint(u.hostname, Number(u.port || 8883), timeout);
      if (fp !== rec.mqttFingerprint)
        return fail(
          'tls',
          `the broker presents ${showFingerprint(fp).slice(0, 23)}…, pinned ${showFingerprint(rec.mqttFingerprint).slice(0, 23)}…`,
          "if central's certificate was replaced on purpose, enroll again with a new string (--force); otherwise something is intercepting: call central's operator",
        );
      found.push('broker certificate pinned');
    } catch {
      found.push('broker not reachable for the TLS check');
    }
  } else if (m)
    found.push(
      m.url.startsWith('mqtts:') ? 'broker TLS (CA-checked)' : 'broker connection not encrypted (mqtt://)',
    );
  try {
    const fp = await peerFingerprint(rec.enroll.host, rec.enroll.port, timeout);
    if (fp !== rec.enroll.fingerprint)
      return fail(
        'tls',
        `central's enrollment listener presents ${showFingerprint(fp).slice(0, 23)}…, pinned ${showFingerprint(rec.enroll.fingerprint).slice(0, 23)}…`,
        "if central's certificate was replaced on purpose, enroll again with a new string (--force); otherwise something is intercepting: call central's operator",
      );
    found.push('enrollment listener pinned');
  } catch {
    found.push('enrollment listener not reachable (needed only for rotate and decommission)');
  }
  return ok('tls', found.join('; '));
}

function checkLists(c: Context): CheckResult {
  if (!c.config) return skip('lists', 'no valid config');
  if (!c.db) return skip('lists', 'no database yet: lists arrive from central once the daemon runs');
  const { warnHours, failHours } = c.config.staleness;
  const parts: string[] = [];
  const stale: string[] = [];
  for (const type of ['trust', 'revocation']) {
    const l = c.db.lists[type];
    if (!l) {
      stale.push(`${type} missing`);
      continue;
    }
    const hours = (c.now / 1000 - l.issuedAt) / 3600;
    parts.push(`${type} v${l.version} ${age(hours * 3_600_000)} old`);
    if (hours >= warnHours)
      stale.push(`${type} is ${hours.toFixed(1)} h old (warn ${warnHours} h, fail ${failHours} h)`);
  }
  for (const [type, l] of Object.entries(c.db.lists))
    if (type !== 'trust' && type !== 'revocation') parts.push(`${type} v${l.version}`);
  if (stale.length > 0)
    return fail(
      'lists',
      stale.join('; '),
      c.daemon
        ? 'the daemon is not getting lists from central: check the broker line above, then passgate central command --command resync'
        : 'start the daemon (it fetches the lists from central), or load them: passgate terminal load-lists',
    );
  return ok('lists', parts.join(', '));
}

function checkOutbox(c: Context): CheckResult {
  if (!c.db) return skip('outbox', 'no database yet');
  const depth = c.db.outboxDepth;
  if (depth === 0) return ok('outbox', 'empty: every event reached central');
  const oldest = c.db.oldestUnsyncedAt !== undefined ? c.now - c.db.oldestUnsyncedAt : 0;
  const detail = `${depth} event(s) not yet at central, oldest ${age(oldest)}`;
  if (oldest > (c.o.maxUnsyncedAgeMs ?? 10 * 60_000))
    return fail(
      'outbox',
      detail,
      'events are kept until central acknowledges them: fix the broker line above and keep the daemon running',
    );
  return ok('outbox', detail);
}

async function checkHardware(c: Context): Promise<CheckResult[]> {
  const want = expectedHardware(c.raw, c.record?.expect);
  const out: CheckResult[] = [];
  if (want.pcsc) {
    const socket = c.o.pcscdSocket ?? DEFAULT_PCSCD_SOCKET;
    if (!(await pcscdAnswers(socket)))
      out.push(
        fail(
          'pcscd',
          `pcscd not answering on ${socket}`,
          'sudo systemctl start pcscd (install: sudo apt install pcscd); then check the reader cable',
        ),
      );
    else {
      const readers = c.report?.inputs?.filter((i) => i.kind === 'pcsc' || i.name.includes('pcsc'));
      const r =
        readers && readers.length > 0
          ? `; readers: ${readers.map((i) => `${i.name} ${i.state}`).join(', ')}`
          : '; readers: seen by the daemon when it runs';
      out.push(ok('pcscd', `pcscd running${r}`));
    }
  } else out.push(skip('pcscd', 'no PC/SC reader configured'));
  if (want.hid.length > 0) {
    const h = await hidDevicesPresent(want.hid);
    if (h.missing.length > 0)
      out.push(
        fail(
          'hid',
          `HID device(s) ${h.missing.join(', ')} not present${h.error ? ` (${h.error})` : ''}`,
          'plug the scanner in (lsusb should list it); check the udev rule gives the passgate user access to /dev/hidraw*',
        ),
      );
    else out.push(ok('hid', `${want.hid.length} HID device(s) present`));
  } else out.push(skip('hid', 'no HID scanner configured'));
  if (want.serial.length > 0) {
    const missing = want.serial.filter((p) => !serialPresent(p));
    if (missing.length > 0) {
      const listed = await listSerialPorts();
      out.push(
        fail(
          'serial',
          `serial port(s) ${missing.join(', ')} not present` +
            (listed ? `; present: ${listed.join(', ') || 'none'}` : ''),
          'plug the scanner in, or point the config at the right port (ls -l /dev/serial/by-id/)',
        ),
      );
    } else out.push(ok('serial', `${want.serial.join(', ')} present`));
  } else out.push(skip('serial', 'no serial scanner configured'));
  if (want.relay.length > 0) {
    const missing = want.relay.filter((p) => !serialPresent(p));
    const outputs = c.report?.outputs?.filter((o) => o.kind === 'relay' || o.name.includes('relay'));
    const bad = outputs?.filter((o) => o.state !== 'ok') ?? [];
    if (missing.length > 0)
      out.push(
        fail(
          'relay',
          `relay port(s) ${missing.join(', ')} not present`,
          'check the relay board cable and power; ls -l /dev/serial/by-id/',
        ),
      );
    else if (bad.length > 0)
      out.push(
        fail(
          'relay',
          `relay not answering: ${bad.map((o) => `${o.name} ${o.state}`).join(', ')}`,
          'check the relay board power; the daemon retries on its own',
        ),
      );
    else out.push(ok('relay', `${want.relay.join(', ')} present${outputs?.length ? ', answering' : ''}`));
  } else out.push(skip('relay', 'no relay configured'));
  return out;
}

function checkDaemon(c: Context): CheckResult {
  if (!c.daemon)
    return skip(
      'daemon',
      'not running (doctor works either way); start: passgate terminal start --config ' + c.p.config,
    );
  if (!c.report)
    return fail(
      'daemon',
      `pid ${c.daemon.pid} runs but does not answer on 127.0.0.1:${c.daemon.httpPort}`,
      'restart it: sudo systemctl restart ' + SERVICE_NAME,
    );
  if (c.report.problems.length > 0)
    return fail(
      'daemon',
      `pid ${c.daemon.pid} reports ${c.report.problems.join('; ')}`,
      'see the lines above; logs: journalctl -u ' + SERVICE_NAME,
    );
  return ok(
    'daemon',
    `pid ${c.daemon.pid} healthy${c.report.warnings.length ? ` (warnings: ${c.report.warnings.join('; ')})` : ''}`,
  );
}

async function checkService(): Promise<CheckResult> {
  if (!existsSync('/run/systemd/system') || !which('systemctl'))
    return skip('service', 'systemd is not running here');
  const active = (await run('systemctl', ['is-active', SERVICE_NAME], 5000)).stdout.trim();
  const enabled = (await run('systemctl', ['is-enabled', SERVICE_NAME], 5000)).stdout.trim();
  if (enabled === '' || enabled === 'not-found' || enabled.includes('No such'))
    return fail(
      'service',
      `${SERVICE_NAME} is not installed`,
      'sudo passgate provision install-service, then sudo systemctl enable --now ' + SERVICE_NAME,
    );
  if (active !== 'active' || enabled !== 'enabled')
    return fail(
      'service',
      `${SERVICE_NAME} is ${active}, ${enabled}`,
      `sudo systemctl enable --now ${SERVICE_NAME}; journalctl -u ${SERVICE_NAME} says why it stopped`,
    );
  return ok('service', `${SERVICE_NAME} active, enabled`);
}

export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  const c: Context = { o, p: paths(o.dir), now: o.now ?? Date.now() };
  const rec = readProvisionRecord(o.dir);
  if (rec) c.record = rec;
  const results: CheckResult[] = [checkNode(), checkConfig(c)];
  const d = runningDaemon(o.dir);
  if (d) {
    c.daemon = d;
    const r = await daemonReport(d.httpPort, o.timeoutMs ?? 3000);
    if (r) c.report = r;
  }
  results.push(checkPermissions(c), checkDatabase(c), checkDisk(c), await checkClock(c));
  results.push(...(await Promise.all([checkBroker(c), checkTls(c)])));
  results.push(
    checkLists(c),
    checkOutbox(c),
    ...(await checkHardware(c)),
    checkDaemon(c),
    await checkService(),
  );
  return results;
}

export function renderChecks(results: CheckResult[]): string {
  const mark = { ok: '✔', fail: '✖', skip: '–' } as const;
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${mark[r.status]} ${r.id.padEnd(12)} ${r.detail}`);
    if (r.fix) lines.push(`  ${''.padEnd(12)} fix: ${r.fix}`);
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  lines.push(failed === 0 ? 'All checks passed.' : `${failed} check(s) failed: see "fix:" above.`);
  return lines.join('\n');
}
