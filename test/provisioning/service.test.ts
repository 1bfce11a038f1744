// install-service writes a unit that `systemd-analyze verify` accepts (it runs here without systemd), and
// the daemon's notify messages reach a NOTIFY_SOCKET (a unix datagram socket held by a small Python
// listener, since Node cannot bind one) through systemd-notify.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { renderUnit } from '../../provisioning/service.js';
import { SystemdNotifier } from '../../terminal/sd-notify.js';
import { commandExists, requireComponent } from '../../testkit/components.js';
import { waitFor } from '../../testkit/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'pg-svc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = join(import.meta.dirname, '..', '..', 'bin', 'passgate.js');

const haveAnalyze = requireComponent(
  'systemd-analyze',
  commandExists('systemd-analyze'),
  'apt-get install systemd',
);
const haveNotify = requireComponent(
  'systemd-notify and python3',
  commandExists('systemd-notify') && commandExists('python3'),
  'apt-get install systemd python3',
);

describe('provision install-service', () => {
  it('renders the hardening, watchdog, restart and state directory', () => {
    const unit = renderUnit({
      dir: '/var/lib/passgate',
      user: 'passgate',
      exec: '/usr/bin/node /opt/p/bin/passgate.js',
    });
    for (const line of [
      'Type=notify',
      'Restart=always',
      'WatchdogSec=30',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'StateDirectory=passgate',
      'StateDirectoryMode=0700',
      'UMask=0077',
      'ReadWritePaths=-/run/pcscd',
      'DevicePolicy=closed',
      'DeviceAllow=char-hidraw rw',
      'DeviceAllow=char-ttyUSB rw',
      'StandardOutput=journal',
      'ExecStart=/usr/bin/node /opt/p/bin/passgate.js terminal start --config /var/lib/passgate/terminal.json',
    ])
      expect(unit).toContain(line);
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m); // Node's JIT needs W+X memory
    expect(renderUnit({ dir: '/srv/gate', user: 'passgate', exec: 'x' })).toContain(
      'ReadWritePaths=/srv/gate',
    );
  });

  it.skipIf(!haveAnalyze)('writes a unit that systemd-analyze verify passes', async () => {
    let out = '';
    const code = await main(
      [
        'provision',
        'install-service',
        '--dir',
        '/var/lib/passgate',
        '--unit-dir',
        tmp,
        '--user',
        'root',
        '--exec',
        `${process.execPath} ${bin}`,
        '--json',
      ],
      { out: (t) => (out += t), err: (t) => (out += t) },
    );
    const r = JSON.parse(out) as { ok: boolean; unitFile: string; verified: string };
    expect(r.verified).toBe('passed');
    expect(code).toBe(0);
    expect(readFileSync(r.unitFile, 'utf8')).toContain('WatchdogSec=30');
  });
});

describe.skipIf(!haveNotify)('sd_notify without native code', () => {
  it('sends READY=1, WATCHDOG=1 and STOPPING=1 to NOTIFY_SOCKET', async () => {
    const socket = join(tmp, 'notify.sock');
    const received = join(tmp, 'received.txt');
    const listener = spawn('python3', [
      '-c',
      `import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
f=open(sys.argv[2],'a')
while True:
    m=s.recv(4096).decode()
    f.write(m.replace('\\n','|')+'\\n'); f.flush()
    if 'STOPPING=1' in m: break`,
      socket,
      received,
    ]);
    try {
      await waitFor('notify socket', () => existsSync(socket), 5000);
      const n = new SystemdNotifier(pino({ level: 'silent' }), {
        NOTIFY_SOCKET: socket,
        WATCHDOG_USEC: '1000000',
      });
      expect(n.watchdogEveryMs).toBe(500);
      expect(await n.ready('gate ready')).toBe(true);
      n.startWatchdog(() => true);
      await waitFor(
        'a watchdog ping',
        () => existsSync(received) && readFileSync(received, 'utf8').includes('WATCHDOG=1'),
        10_000,
      );
      await n.stopping();
      await waitFor('STOPPING', () => readFileSync(received, 'utf8').includes('STOPPING=1'), 10_000);
      const text = readFileSync(received, 'utf8');
      expect(text).toMatch(/READY=1/);
      expect(text).toMatch(/STATUS=gate ready/);
      // outside systemd nothing is sent
      expect(await new SystemdNotifier(pino({ level: 'silent' }), {}).ready('x')).toBe(false);
    } finally {
      listener.kill();
    }
  });
});
