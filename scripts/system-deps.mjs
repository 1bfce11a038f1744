#!/usr/bin/env node
// Makes sure the real components that the integration tests talk to are installed.
// Installs missing Debian packages with apt-get when running as root. With CI=true a component
// that is still missing fails the run; elsewhere the affected tests skip and say what they need.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const components = [
  {
    name: 'mosquitto broker',
    packages: ['mosquitto'],
    present: () => has('mosquitto') || existsSync('/usr/sbin/mosquitto'),
  },
  { name: 'mosquitto clients', packages: ['mosquitto-clients'], present: () => has('mosquitto_pub') },
  { name: 'PostgreSQL server', packages: ['postgresql'], present: () => pgBin() !== undefined },
  { name: 'socat (serial ptys)', packages: ['socat'], present: () => has('socat') },
  // provisioning: central's self-signed enrollment certificate, the unit check, sd_notify, a notify socket
  { name: 'openssl (enrollment certificate)', packages: ['openssl'], present: () => has('openssl') },
  {
    name: 'systemd tools (systemd-analyze, systemd-notify)',
    packages: ['systemd'],
    present: () => has('systemd-analyze') && has('systemd-notify'),
  },
  { name: 'python3 (a NOTIFY_SOCKET listener)', packages: ['python3'], present: () => has('python3') },
  {
    name: 'chromium (kiosk screen test)',
    packages: ['chromium'],
    present: () => existsSync('/usr/bin/chromium'),
  },
  {
    name: 'a Traditional Chinese font (kiosk screen screenshots)',
    packages: ['fonts-wqy-microhei'],
    present: () => existsSync('/usr/share/fonts/truetype/wqy/wqy-microhei.ttc'),
  },
  // PC/SC: the daemon, the headers @pokusew/pcsclite (under nfc-pcsc) compiles against, and vpcd, the
  // virtual reader driver the PC/SC tests put a virtual card into. python3-virtualsmartcard (vicc) is
  // vpcd's companion for manual checks; the tests use their own card script.
  { name: 'pcscd', packages: ['pcscd'], present: () => existsSync('/usr/sbin/pcscd') },
  {
    name: 'PC/SC headers (libpcsclite-dev)',
    packages: ['libpcsclite-dev'],
    present: () => existsSync('/usr/include/PCSC/winscard.h'),
  },
  {
    name: 'vpcd virtual reader',
    packages: ['vsmartcard-vpcd', 'python3-virtualsmartcard'],
    present: () => existsSync('/usr/lib/pcsc/drivers/serial/libifdvpcd.so'),
  },
  // libgpiod's gpioset for the GPIO output (the tests use its sysfs fallback, docs/hardware.md the tool).
  { name: 'gpioset (libgpiod)', packages: ['gpiod'], present: () => has('gpioset') },
];

/** nfc-pcsc's native binding loads (it is an optional dependency: dropped when it could not compile). */
function pcscBindingLoads() {
  const r = spawnSync(process.execPath, ['-e', "require('nfc-pcsc')"], { cwd: ROOT, stdio: 'ignore' });
  return r.status === 0;
}

/**
 * npm builds @pokusew/pcsclite before any script of ours runs, so on a fresh machine it failed for
 * want of winscard.h and npm dropped the optional nfc-pcsc. Now that the headers are here: rebuild it
 * when the package is present, or install the locked version when npm dropped it.
 */
function makePcscBindingAvailable() {
  if (pcscBindingLoads() || !existsSync('/usr/include/PCSC/winscard.h')) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const present = existsSync(join(ROOT, 'node_modules/@pokusew/pcsclite/package.json'));
  console.log(
    `system-deps: ${present ? 'rebuilding' : 'installing'} the nfc-pcsc binding (@pokusew/pcsclite)…`,
  );
  const args = present
    ? ['rebuild', '@pokusew/pcsclite']
    : [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts=false',
        `nfc-pcsc@${lockedVersion('nfc-pcsc')}`,
      ];
  const r = spawnSync(npm, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) console.error(`system-deps: npm ${args.join(' ')} failed`);
}

function lockedVersion(name) {
  try {
    const lock = createRequire(import.meta.url)(join(ROOT, 'package-lock.json'));
    return lock.packages?.[`node_modules/${name}`]?.version ?? 'latest';
  } catch {
    return 'latest';
  }
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function pgBin() {
  for (const v of ['17', '16', '15']) if (existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return v;
  return undefined;
}

const missing = components.filter((c) => !c.present());
if (missing.length > 0) {
  const pkgs = [...new Set(missing.flatMap((c) => c.packages))];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && has('apt-get')) {
    console.log(`system-deps: installing ${pkgs.join(' ')} (needed by the integration tests)…`);
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch (err) {
      console.error(`system-deps: apt-get failed: ${err.message}`);
    }
  }
}

makePcscBindingAvailable();
components.push({
  name: 'nfc-pcsc native binding',
  packages: ['libpcsclite-dev'],
  present: pcscBindingLoads,
});

const stillMissing = components.filter((c) => !c.present());
if (stillMissing.length === 0) {
  console.log(
    'system-deps: all real components present (mosquitto, PostgreSQL, socat, chromium, CJK font, pcscd + vpcd, nfc-pcsc binding, gpioset, openssl, systemd tools, python3).',
  );
} else {
  const list = stillMissing.map((c) => `${c.name} (apt-get install ${c.packages.join(' ')})`).join(', ');
  if (process.env.CI === 'true') {
    console.error(`system-deps: MISSING in CI: ${list}. Integration tests cannot run; failing.`);
    process.exit(1);
  }
  console.warn(`system-deps: WARNING — missing ${list}. Tests that need them will be SKIPPED.`);
}
