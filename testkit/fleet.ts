// Builds a fleet for the demo and tests: central on embedded defaults and terminals enrolled with one-time codes,
// each a real daemon (SQLite store, outbox, MQTT sync) running in this process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Central } from '../central/index.js';
import { writeJsonAtomic } from '../shared/files.js';
import { loadConfig } from '../terminal/config.js';
import { startTerminal, type RunningTerminal } from '../terminal/daemon.js';
import { writeSigningKey } from '../terminal/keys.js';
import { waitFor } from './wait.js';

export interface TerminalSpec {
  id: string;
  role: 'turnstile' | 'kiosk' | 'counter';
  gate: string;
  requirement: { k: string; v?: string; c?: string[] };
  label: string;
}

export interface DemoTerminal {
  spec: TerminalSpec;
  configFile: string;
  running: RunningTerminal;
}

/** Enrolls a terminal with a one-time code (as a technician's provisioning CLI would) and writes its config. */
export async function enrollTerminal(central: Central, work: string, spec: TerminalSpec): Promise<string> {
  const dir = join(work, spec.id);
  const key = writeSigningKey(join(dir, 'terminal-key.json'));
  const code = await central.createEnrollmentCode(spec.id, spec.role);
  const enrolled = await central.enroll(code, key.publicKey, 'EdDSA');
  if (!enrolled) throw new Error(`enrollment of ${spec.id} was refused`);
  writeFileSync(join(dir, 'mqtt.secret'), enrolled.password + '\n', { mode: 0o600 });
  const configFile = join(dir, 'terminal.json');
  writeJsonAtomic(configFile, {
    terminalId: spec.id,
    role: spec.role,
    gate: spec.gate,
    dataDir: dir,
    listPublicKey: enrolled.listKey,
    signingKeyFile: join(dir, 'terminal-key.json'),
    requirement: spec.requirement,
    inputs: [],
    http: { port: 0 },
    mqtt: { url: enrolled.mqtt.url, username: enrolled.username, passwordFile: join(dir, 'mqtt.secret') },
    log: { level: 'silent' },
  });
  return configFile;
}

export async function bootTerminal(
  configFile: string,
  logger: Logger,
  online: boolean,
): Promise<RunningTerminal> {
  return startTerminal(loadConfig(configFile), { logger, consoleOutput: false, sync: online });
}

/**
 * Waits until every terminal holds at least the list versions central has published now — not merely
 * "a" list: a terminal still on an older trust list would deny the first codes with lists_missing.
 */
export async function waitForPublishedLists(
  central: Central,
  terminals: Array<Pick<RunningTerminal, 'report'>>,
  timeoutMs = 15_000,
): Promise<number> {
  const published = (await central.status()).lists;
  return waitFor(
    'the list versions central published, on every terminal',
    () =>
      terminals.every((t) =>
        (['trust', 'revocation'] as const).every(
          (type) => (t.report().lists[type]?.version ?? 0) >= (published[type]?.version ?? 1),
        ),
      ),
    timeoutMs,
  );
}
