#!/usr/bin/env node
// Makes sure the real components that the integration tests talk to are installed.
// Installs missing Debian packages with apt-get when running as root. With CI=true a component
// that is still missing fails the run; elsewhere the affected tests skip and say what they need.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const components = [
  {
    name: 'mosquitto broker',
    packages: ['mosquitto'],
    present: () => has('mosquitto') || existsSync('/usr/sbin/mosquitto'),
  },
  { name: 'mosquitto clients', packages: ['mosquitto-clients'], present: () => has('mosquitto_pub') },
  { name: 'PostgreSQL server', packages: ['postgresql'], present: () => pgBin() !== undefined },
  { name: 'socat (serial ptys)', packages: ['socat'], present: () => has('socat') },
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
];

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

const stillMissing = components.filter((c) => !c.present());
if (stillMissing.length === 0) {
  console.log('system-deps: all real components present (mosquitto, PostgreSQL, socat, chromium, CJK font).');
} else {
  const list = stillMissing.map((c) => `${c.name} (apt-get install ${c.packages.join(' ')})`).join(', ');
  if (process.env.CI === 'true') {
    console.error(`system-deps: MISSING in CI: ${list}. Integration tests cannot run; failing.`);
    process.exit(1);
  }
  console.warn(`system-deps: WARNING — missing ${list}. Tests that need them will be SKIPPED.`);
}
