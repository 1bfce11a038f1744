// `provision install-service`: the systemd unit for `passgate terminal start`.
// - Type=notify + WatchdogSec: the daemon says READY=1 once it serves and feeds the watchdog while healthy
//   (terminal/sd-notify.ts, through systemd-notify, hence NotifyAccess=all); Restart=always.
// - ExecReload sends SIGHUP: the daemon reads its key and MQTT secret again (provision rotate).
// - State: StateDirectory (systemd creates it and hands it to the service user, mode 0700) when the
//   folder is under /var/lib; UMask=0077 so every new file is private.
// - Hardening that still lets the daemon reach what a gate needs: pcscd's socket (/run/pcscd, connect only),
//   hidraw and serial devices (DevicePolicy=closed + DeviceAllow for exactly those classes), GPIO chips.
// - journald logging (stdout/stderr), tagged passgate-terminal.
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, which } from './process.js';

export const SERVICE_NAME = 'passgate-terminal';

export interface UnitOptions {
  /** The terminal folder (its terminal.json). */
  dir: string;
  user: string;
  /** The command that runs passgate, e.g. `/usr/bin/node /opt/passgate/bin/passgate.js`. */
  exec: string;
  watchdogSec?: number;
}

/** `node /path/bin/passgate.js` for the passgate this code belongs to. */
export function defaultExec(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'passgate')
      return `${process.execPath} ${realpathSync(join(d, 'bin', 'passgate.js'))}`;
    d = dirname(d);
  }
  return `${process.execPath} ${realpathSync(process.argv[1] ?? 'passgate')}`;
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

export function renderUnit(o: UnitOptions): string {
  const dir = resolve(o.dir);
  const stateDir = dir.startsWith('/var/lib/') ? dir.slice('/var/lib/'.length) : undefined;
  const config = join(dir, 'terminal.json');
  return `# Written by passgate provision install-service. Enable: systemctl enable --now ${SERVICE_NAME}
[Unit]
Description=passgate terminal (${dir})
Documentation=https://example.invalid/passgate/docs/provisioning.md
After=network-online.target pcscd.socket
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=all
ExecStart=${o.exec} terminal start --config ${quote(config)}
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=2
WatchdogSec=${o.watchdogSec ?? 30}
TimeoutStopSec=20
User=${o.user}
Group=${o.user}
SupplementaryGroups=dialout plugdev gpio
${stateDir ? `StateDirectory=${stateDir}\nStateDirectoryMode=0700` : `ReadWritePaths=${quote(dir)}`}
UMask=0077
WorkingDirectory=${quote(dir)}
StandardOutput=journal
StandardError=journal
SyslogIdentifier=${SERVICE_NAME}

# Hardening. Node's JIT needs writable+executable memory, so no MemoryDenyWriteExecute.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
# PC/SC: pcscd's socket (connecting needs no write access to the folder, only to the socket).
ReadWritePaths=-/run/pcscd
# Devices: only HID scanners, USB/UART serial ports (scanners, relay boards) and GPIO chips.
DevicePolicy=closed
DeviceAllow=char-hidraw rw
DeviceAllow=char-ttyUSB rw
DeviceAllow=char-ttyACM rw
DeviceAllow=char-ttyAMA rw
DeviceAllow=char-ttyS rw
DeviceAllow=char-gpiochip rw

[Install]
WantedBy=multi-user.target
`;
}

export interface InstallResult {
  unitFile: string;
  verified: 'passed' | 'not available' | string;
}

/** Writes the unit (0644) and, when systemd-analyze is installed, verifies it. */
export async function installService(
  o: UnitOptions & { unitDir: string; verify?: boolean },
): Promise<InstallResult> {
  mkdirSync(o.unitDir, { recursive: true });
  const unitFile = join(o.unitDir, `${SERVICE_NAME}.service`);
  writeFileSync(unitFile, renderUnit(o), { mode: 0o644 });
  if (o.verify === false) return { unitFile, verified: 'not available' };
  return { unitFile, verified: await verifyUnit(unitFile) };
}

/** `systemd-analyze verify`: 'passed', 'not available', or its complaint. */
export async function verifyUnit(unitFile: string): Promise<string> {
  if (!which('systemd-analyze')) return 'not available';
  const r = await run('systemd-analyze', ['verify', unitFile], 30_000);
  const complaints = (r.stderr + r.stdout)
    .split('\n')
    .filter((l) => l.trim() && l.includes(unitFile.split('/').pop()!))
    .join('\n');
  return r.code === 0 && complaints === '' ? 'passed' : complaints || r.stderr.trim() || `exit ${r.code}`;
}
