// `passgate terminal enroll`: redeem a one-time code at central (POST /enroll) and write everything the
// terminal needs to start: its signing key, its MQTT secret (0600) and terminal.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EnrollmentResult } from '../../shared/admin-api.js';
import { writeJsonAtomic } from '../../shared/files.js';
import { toHex } from '../../shared/bytes.js';
import { assertGate, isRole, ROLES } from '../../shared/ids.js';
import { ConfigError, loadConfig } from '../../terminal/config.js';
import { KeyFileError, loadSigningKey, writeSigningKey } from '../../terminal/keys.js';
import { centralClient, DEFAULT_CENTRAL_URL } from '../central-client.js';
import { UsageError, UserError, optStr, str, type CommandSpec, type ParsedCommand } from '../command.js';

/** The code from --code, --code=CODE or the one positional argument: exactly one of them. */
function enrollmentCodeArgument(cmd: ParsedCommand): string {
  const flag = optStr(cmd, 'code');
  if (cmd.positionals.length > 1)
    throw new UsageError(`expected one enrollment code, got ${cmd.positionals.length} arguments`);
  const positional = cmd.positionals[0];
  if (flag !== undefined && positional !== undefined)
    throw new UsageError('give the enrollment code once: either --code CODE or as the argument');
  const code = (flag ?? positional ?? '').trim();
  if (code === '')
    throw new UsageError('the enrollment code is required: passgate terminal enroll CODE --dir DIR');
  return code;
}

export const enroll: CommandSpec = {
  name: 'terminal enroll',
  summary: 'redeem a one-time enrollment code at central and write the terminal config',
  args: '[CODE]',
  options: {
    code: {
      type: 'string',
      description: 'the code from `passgate issuer enroll-code` (or give it as the first argument)',
    },
    dir: { type: 'string', required: true, description: "the terminal's folder (key, secret, database)" },
    gate: { type: 'string', description: 'gate name used in events (default: the terminal id)' },
    'central-data': {
      type: 'string',
      description: "central's data folder, when enrolling on central's host (its port is read there)",
    },
    central: { type: 'string', description: `central admin API URL (default ${DEFAULT_CENTRAL_URL})` },
    'mqtt-url': { type: 'string', description: 'broker URL to use instead of the one central announces' },
    'ca-file': {
      type: 'string',
      description: 'PEM certificate to trust for an mqtts:// broker (private CA or self-signed)',
    },
  },
  help: `Examples:
  passgate terminal enroll --code CODE --dir /var/lib/passgate --gate north
  passgate terminal enroll CODE --dir /var/lib/passgate          (also: --code=CODE)
Uses DIR/terminal-key.json when it exists (from \`passgate terminal keygen\`), otherwise creates it.
Writes DIR/mqtt.secret (0600) and DIR/terminal.json; edit terminal.json for inputs and policy, then run
  passgate terminal start --config DIR/terminal.json`,
  async run(cmd, io) {
    const code = enrollmentCodeArgument(cmd);
    const dir = resolve(str(cmd, 'dir'));
    const gate = optStr(cmd, 'gate');
    if (gate !== undefined) assertGate(gate, '--gate');
    const configFile = join(dir, 'terminal.json');
    if (existsSync(configFile))
      throw new UserError(`${configFile} already exists: this folder is enrolled (use another --dir)`);
    mkdirSync(dir, { recursive: true });
    const keyFile = join(dir, 'terminal-key.json');
    let key;
    try {
      key = existsSync(keyFile) ? loadSigningKey(keyFile) : writeSigningKey(keyFile);
    } catch (err) {
      if (err instanceof KeyFileError) throw new UserError(err.message);
      throw err;
    }
    const client = centralClient(cmd, false);
    const r = await client.request<EnrollmentResult>('/enroll', {
      code,
      publicKey: toHex(key.publicKey),
      alg: 'EdDSA',
    });
    const role = r.config.role;
    if (!isRole(role))
      throw new UserError(
        `central enrolled ${r.terminalId} with role "${role}", which this terminal cannot run (${ROLES.join(', ')})`,
      );
    const secretFile = join(dir, 'mqtt.secret');
    writeFileSync(secretFile, r.password + '\n', { mode: 0o600 });
    // The fleet card key hashes card UIDs the way central's cards list does: a secret, owner-only.
    const cardKeyFile = join(dir, 'card-key.hex');
    if (r.cardKey !== undefined) {
      if (!/^[0-9a-f]{64}$/i.test(r.cardKey))
        throw new UserError('central sent a card key that is not 64 hex characters');
      writeFileSync(cardKeyFile, r.cardKey + '\n', { mode: 0o600 });
    }
    const mqttUrl = optStr(cmd, 'mqtt-url') ?? r.mqtt.url;
    const caFile = optStr(cmd, 'ca-file');
    writeJsonAtomic(configFile, {
      terminalId: r.terminalId,
      role,
      gate: gate ?? r.terminalId,
      dataDir: dir,
      listPublicKey: r.listKey,
      signingKeyFile: keyFile,
      ...(r.cardKey !== undefined ? { cardKeyFile } : {}),
      // A keyboard-wedge scanner types codes on stdin; add hardware inputs to this list (docs/hardware.md).
      inputs: [{ type: 'stdin' }],
      mqtt: {
        url: mqttUrl,
        username: r.username,
        passwordFile: secretFile,
        ...(caFile ? { caFile: resolve(caFile) } : {}),
      },
    });
    try {
      loadConfig(configFile);
    } catch (err) {
      if (err instanceof ConfigError)
        throw new UserError(`wrote ${configFile} but it is not valid: ${err.message}`);
      throw err;
    }
    if (io.json) io.out(JSON.stringify({ ok: true, terminalId: r.terminalId, role, configFile, mqttUrl }));
    else
      io.out(
        `Enrolled terminal ${r.terminalId} (${role}); it connects to ${mqttUrl} and pins list key ${r.listKey.slice(0, 16)}….\n` +
          `Wrote ${configFile} and ${secretFile}. Start it: passgate terminal start --config ${configFile}`,
      );
    return 0;
  },
};
