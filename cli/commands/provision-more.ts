// `passgate provision doctor|status|scan-test|config|rotate|decommission|install-service`.
// The provisioning modules load only when their command runs (they pull in mqtt, better-sqlite3 and the
// daemon): every other passgate command starts without them.
import { defaultExec, installService, SERVICE_NAME } from '../../provisioning/service.js';
import { DEFAULT_DIR, runningDaemon } from '../../provisioning/terminal-dir.js';
import { UsageError, optNum, optStr, type CommandSpec, type ParsedCommand } from '../command.js';

const dirOption = {
  dir: { type: 'string' as const, description: `the terminal's folder (default ${DEFAULT_DIR})` },
};
const dirOf = (cmd: ParsedCommand): string => optStr(cmd, 'dir') ?? DEFAULT_DIR;

const doctor: CommandSpec = {
  name: 'provision doctor',
  summary: 'check this terminal: one line per check, ✔ or ✖ with how to fix it',
  options: {
    ...dirOption,
    'pcscd-socket': { type: 'string', description: "pcscd's socket (default /run/pcscd/pcscd.comm)" },
    timeout: { type: 'number', description: 'seconds to wait for central and the broker (default 8)' },
    wait: {
      type: 'number',
      description: 'check again every 2 s for up to N seconds until nothing fails (after a start)',
    },
  },
  help: `Read-only: safe while the daemon runs (the database is opened read-only, the broker is probed under
its own client id). Checks: Node.js, config, file modes, database integrity and size, free disk, clock and
NTP, broker and credentials, pinned TLS certificates, list ages, outbox, pcscd and readers, HID and serial
devices, relay, the daemon and its systemd service. Exit 0 when nothing failed, 1 otherwise.`,
  async run(cmd, io) {
    const { renderChecks, runDoctor } = await import('../../provisioning/doctor.js');
    const socket = optStr(cmd, 'pcscd-socket');
    const timeout = optNum(cmd, 'timeout');
    const wait = optNum(cmd, 'wait') ?? 0;
    if (wait < 0 || wait > 3600) throw new UsageError('--wait must be 0-3600 seconds');
    const until = Date.now() + wait * 1000;
    const check = () =>
      runDoctor({
        dir: dirOf(cmd),
        ...(socket ? { pcscdSocket: socket } : {}),
        ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
      });
    let results = await check();
    while (results.some((r) => r.status === 'fail') && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 2000));
      results = await check();
    }
    const failed = results.filter((r) => r.status === 'fail').length;
    if (io.json) io.out(JSON.stringify({ ok: failed === 0, checks: results }));
    else io.out(renderChecks(results));
    return failed === 0 ? 0 : 1;
  },
};

const status: CommandSpec = {
  name: 'provision status',
  summary: 'role, id, online state, lists, outbox, clock, inputs/outputs, recent decisions',
  options: dirOption,
  async run(cmd, io) {
    const { renderStatus, terminalStatus } = await import('../../provisioning/status.js');
    const s = await terminalStatus(dirOf(cmd));
    if (io.json) io.out(JSON.stringify({ ok: true, ...s }));
    else io.out(renderStatus(s));
    return 0;
  },
};

const configGetSpec: CommandSpec = {
  name: 'provision config get',
  args: 'KEY',
  summary: 'print one setting of terminal.json (dotted path, e.g. staleness.warnHours)',
  options: dirOption,
  async run(cmd, io) {
    if (cmd.positionals.length !== 1) throw new UsageError('give one KEY, e.g. staleness.warnHours');
    const key = cmd.positionals[0]!;
    const { configGet } = await import('../../provisioning/config-edit.js');
    const r = configGet(dirOf(cmd), key);
    if (io.json) io.out(JSON.stringify({ ok: true, key, ...r }));
    else
      io.out(
        `${key} = ${JSON.stringify(r.effective)}${r.value === undefined ? ' (default)' : ''}\nallowed: ${r.allowed}`,
      );
    return 0;
  },
};

const configSetSpec: CommandSpec = {
  name: 'provision config set',
  args: 'KEY VALUE',
  summary: "change one setting, checked against the daemon's schema; the daemon picks it up on reload",
  options: dirOption,
  help: `Examples:
  passgate provision config set staleness.warnHours 12
  passgate provision config set directions '["in","out"]'
A value the daemon would refuse is refused here with the allowed values, and nothing is written.
Then reload the daemon: sudo systemctl reload ${SERVICE_NAME} (or kill -HUP its pid).`,
  async run(cmd, io) {
    if (cmd.positionals.length !== 2) throw new UsageError('give KEY and VALUE');
    const [key, value] = cmd.positionals as [string, string];
    const dir = dirOf(cmd);
    const { configSet } = await import('../../provisioning/config-edit.js');
    const r = configSet(dir, key, value);
    const d = runningDaemon(dir);
    if (d) process.kill(d.pid, 'SIGHUP');
    if (io.json) io.out(JSON.stringify({ ok: true, key, ...r, reloaded: d !== undefined }));
    else
      io.out(
        `${key}: ${JSON.stringify(r.previous)} → ${JSON.stringify(r.value)}. ` +
          (d
            ? `The running daemon (pid ${d.pid}) was told to reload.`
            : 'It applies when the daemon starts.'),
      );
    return 0;
  },
};

const rotate: CommandSpec = {
  name: 'provision rotate',
  summary:
    'new terminal key and MQTT secret through central; the old ones are revoked only after the new work',
  options: {
    ...dirOption,
    timeout: { type: 'number', description: 'seconds to wait for the new secret to log in (default 60)' },
  },
  help: `Works while the daemon runs (it reloads the new files and resends anything not acknowledged: no
event is lost) and while it is stopped (one broker login proves the new secret). Needs central's enrollment
listener, pinned at enrollment.`,
  async run(cmd, io) {
    const timeout = optNum(cmd, 'timeout');
    const { rotateCredentials } = await import('../../provisioning/rotate.js');
    const r = await rotateCredentials(dirOf(cmd), timeout !== undefined ? { timeoutMs: timeout * 1000 } : {});
    if (io.json) io.out(JSON.stringify({ ok: true, ...r }));
    else
      io.out(
        `Rotated ${r.terminalId}: new key ${r.publicKey.slice(0, 16)}… and a new MQTT secret are in use; ` +
          `central revoked the old ones.${r.daemonReloaded ? ' The running daemon reloaded them.' : ''}`,
      );
    return 0;
  },
};

const decommissionSpec: CommandSpec = {
  name: 'provision decommission',
  summary: 'drain the outbox, retire the terminal at central, wipe its keys, secrets and database',
  options: {
    ...dirOption,
    force: {
      type: 'boolean',
      description: 'go on with unsynced events (they are lost) or without telling central',
    },
    wait: { type: 'number', description: 'seconds to wait for the outbox to drain (default 30)' },
  },
  async run(cmd, io) {
    const wait = optNum(cmd, 'wait');
    const { decommission } = await import('../../provisioning/decommission.js');
    const r = await decommission(dirOf(cmd), {
      force: cmd.options.force === true,
      ...(wait !== undefined ? { waitMs: wait * 1000 } : {}),
    });
    if (io.json) io.out(JSON.stringify({ ok: true, ...r }));
    else {
      if (r.unsyncedLost > 0)
        io.err(`warning: ${r.unsyncedLost} event(s) never reached central and are gone`);
      io.out(
        `Decommissioned ${r.terminalId}: ${r.centralTold ? 'central retired the id (its events stay there)' : 'central was NOT told: retire it there'}; ` +
          `wiped ${r.wiped.join(', ')}.`,
      );
    }
    return 0;
  },
};

const scanTestSpec: CommandSpec = {
  name: 'provision scan-test',
  summary: 'show what the inputs read and the decision a dry run gives; nothing recorded, no gate opened',
  options: {
    ...dirOption,
    count: { type: 'number', description: 'stop after N reads' },
    seconds: { type: 'number', description: 'stop after N seconds (default 300)' },
    stdin: { type: 'boolean', description: 'also read lines typed (or wedge-scanned) on this console' },
  },
  help: `Stop the daemon first (sudo systemctl stop ${SERVICE_NAME}): the inputs belong to one process at a
time. Prints the kind of code read (never the code itself) and the decision with its reason. Ctrl-C stops.`,
  async run(cmd, io) {
    const count = optNum(cmd, 'count');
    const seconds = optNum(cmd, 'seconds');
    const stop = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    const { scanTest } = await import('../../provisioning/scan-test.js');
    const r = await scanTest({
      dir: dirOf(cmd),
      ...(count !== undefined ? { count } : {}),
      ...(seconds !== undefined ? { seconds } : {}),
      stdin: cmd.options.stdin === true,
      stopSignal: stop,
      onReady: (inputs) =>
        io.out(
          io.json
            ? JSON.stringify({ ready: true, inputs })
            : `scan-test: reading ${inputs.join(', ')}; nothing is recorded and no gate opens. Ctrl-C stops.`,
        ),
      onScan: (v) =>
        io.out(
          io.json
            ? JSON.stringify(v)
            : v.ignored
              ? `${v.source}: ignored (${v.ignored})`
              : `${v.source}: ${v.read} → would ${v.decision === 'accept' ? 'OPEN' : 'DENY'} (${v.reason}: ${v.explanation})`,
        ),
    });
    if (!io.json) io.out(`scan-test: ${r.lines} read(s).`);
    return 0;
  },
};

const installServiceSpec: CommandSpec = {
  name: 'provision install-service',
  summary: 'write the systemd unit for the terminal daemon (watchdog, restart, hardening, state dir)',
  options: {
    ...dirOption,
    user: { type: 'string', description: 'system user the daemon runs as (default passgate)' },
    'unit-dir': { type: 'string', description: 'where to write the unit (default /etc/systemd/system)' },
    exec: { type: 'string', description: 'command that runs passgate (default: this node + this passgate)' },
    'watchdog-sec': { type: 'number', description: 'systemd watchdog interval (default 30)' },
  },
  async run(cmd, io) {
    const user = optStr(cmd, 'user') ?? 'passgate';
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new UsageError('--user must be a system user name');
    const wd = optNum(cmd, 'watchdog-sec');
    if (wd !== undefined && (!Number.isInteger(wd) || wd < 2 || wd > 3600))
      throw new UsageError('--watchdog-sec must be whole seconds 2-3600');
    const dir = dirOf(cmd);
    const r = await installService({
      dir,
      user,
      exec: optStr(cmd, 'exec') ?? defaultExec(),
      unitDir: optStr(cmd, 'unit-dir') ?? '/etc/systemd/system',
      ...(wd !== undefined ? { watchdogSec: wd } : {}),
    });
    const ok = r.verified === 'passed' || r.verified === 'not available';
    if (io.json) io.out(JSON.stringify({ ok, ...r }));
    else
      io.out(
        [
          `Wrote ${r.unitFile} (systemd-analyze verify: ${r.verified}).`,
          'Enable it:',
          `  sudo useradd --system --no-create-home --groups dialout,plugdev ${user}   # once`,
          '  sudo systemctl daemon-reload',
          `  sudo systemctl enable --now ${SERVICE_NAME}`,
          `  journalctl -u ${SERVICE_NAME} -f        # its logs`,
          `  passgate provision doctor --dir ${dir}`,
        ].join('\n'),
      );
    return ok ? 0 : 1;
  },
};

export const provisionExtraCommands: CommandSpec[] = [
  doctor,
  status,
  configGetSpec,
  configSetSpec,
  rotate,
  decommissionSpec,
  scanTestSpec,
  installServiceSpec,
];
