// `passgate provision …`: the field technician's commands. Each one parses its arguments here and calls
// provisioning/, which owns the behaviour. Exit 0 all good, 1 a check failed or central/the terminal
// refused, 2 a usage problem.
import { InvalidInput } from '../../shared/errors.js';
import { showFingerprint } from '../../shared/enrollment-string.js';
import { Refused } from '../../provisioning/errors.js';
import { DEFAULT_DIR } from '../../provisioning/terminal-dir.js';
import {
  UsageError,
  optNum,
  optStr,
  type CommandIo,
  type CommandSpec,
  type OptionSpec,
  type ParsedCommand,
} from '../command.js';
import { provisionExtraCommands } from './provision-more.js';

const dirOption = {
  dir: { type: 'string', description: `the terminal's folder (default ${DEFAULT_DIR})` },
} satisfies Record<string, OptionSpec>;

function dirOf(cmd: ParsedCommand): string {
  return optStr(cmd, 'dir') ?? DEFAULT_DIR;
}

/** Maps provisioning's errors: InvalidInput → usage (exit 2), Refused → exit 1 with its message. */
export function provisionCommand(spec: CommandSpec): CommandSpec {
  return {
    ...spec,
    async run(cmd: ParsedCommand, io: CommandIo) {
      try {
        return await spec.run(cmd, io);
      } catch (err) {
        if (err instanceof InvalidInput) throw new UsageError(err.message);
        if (err instanceof Refused) {
          if (io.json) io.out(JSON.stringify({ ok: false, error: err.code, message: err.message }));
          else io.err(`passgate ${spec.name}: ${err.message}`);
          return 1;
        }
        throw err;
      }
    },
  };
}

function port(cmd: ParsedCommand, name: string): number | undefined {
  const v = optNum(cmd, name);
  if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 65535))
    throw new UsageError(`--${name} must be a port number 0-65535`);
  return v;
}

export const enrollSpec: CommandSpec = {
  name: 'provision enroll',
  args: 'STRING',
  summary: 'enroll this terminal with the one string from `passgate issuer enroll-code` (pinned HTTPS)',
  options: {
    ...dirOption,
    gate: { type: 'string', description: 'gate name used in events (default: the terminal id)' },
    force: {
      type: 'boolean',
      description: 'replace an enrolled folder (its identity is moved into DIR/replaced-…, not retired)',
    },
    'mqtt-url': { type: 'string', description: 'broker URL to use instead of the one central announces' },
    'tcp-port': { type: 'number', description: 'local TCP input port for scanners (default 7410)' },
    'http-port': { type: 'number', description: 'local health/status port (default 7411; 0 = any)' },
  },
  help: `Example:
  passgate provision enroll PGE1:AEAQ… --dir /var/lib/passgate --gate north
The string carries the one-time code, central's enrollment address and the SHA-256 fingerprint of its
certificate: the terminal checks that fingerprint before sending anything. A used, expired, unknown or
mistyped code is refused and nothing is written. Then: passgate provision doctor --dir DIR`,
  async run(cmd, io) {
    if (cmd.positionals.length !== 1)
      throw new UsageError('give the enrollment string (PGE1:…) exactly once');
    const gate = optStr(cmd, 'gate');
    const mqttUrl = optStr(cmd, 'mqtt-url');
    const tcpPort = port(cmd, 'tcp-port');
    const httpPort = port(cmd, 'http-port');
    const { enrollTerminal } = await import('../../provisioning/enroll.js');
    const r = await enrollTerminal({
      enrollment: cmd.positionals[0]!,
      dir: dirOf(cmd),
      force: cmd.options.force === true,
      ...(gate !== undefined ? { gate } : {}),
      ...(mqttUrl !== undefined ? { mqttUrl } : {}),
      ...(tcpPort !== undefined ? { tcpPort } : {}),
      ...(httpPort !== undefined ? { httpPort } : {}),
    });
    if (io.json) io.out(JSON.stringify({ ok: true, ...r }));
    else
      io.out(
        [
          `Enrolled terminal ${r.terminalId} (${r.role}, gate ${r.gate}) in ${r.dir}.`,
          `Central pinned: certificate ${showFingerprint(r.fingerprint)}.`,
          `Broker: ${r.mqttUrl}${r.mqttPinned ? ' (TLS, certificate pinned)' : r.mqttUrl.startsWith('mqtts:') ? ' (TLS)' : ' (not encrypted: ask for mqtts://)'}.`,
          ...(r.replacedInto ? [`The previous identity was moved to ${r.replacedInto}.`] : []),
          'Next:',
          `  passgate provision doctor --dir ${r.dir}           # every check should be ✔`,
          `  passgate provision install-service --dir ${r.dir}  # run it under systemd`,
          `  (or by hand: passgate terminal start --config ${r.configFile})`,
        ].join('\n'),
      );
    return 0;
  },
};

export const provisionCommands: CommandSpec[] = [enrollSpec, ...provisionExtraCommands].map(provisionCommand);
