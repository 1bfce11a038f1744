// `provision rotate`: a new terminal key and MQTT secret, through central, without losing an event.
// 1. Ask central (signed with the current key) for a new secret for a new key. Central now accepts both
//    the old and the new secret at the broker and batches signed by either key.
// 2. Keep copies of the current files (*.old), write the new key and secret atomically.
// 3. Prove the new ones work: a running daemon is told to reload (SIGHUP; it reconnects with them and
//    sends whatever is not acked again, signed with the new key); a stopped one is stood in for by one
//    broker login with the new secret.
// 4. Commit (signed with the new key): only now does central drop the old key and secret.
// If central cannot commit (it restarted, the new secret never logged in), the old files are put back and
// the daemon reloads them: they still work, because nothing was revoked.
import { chmodSync, copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { toHex } from '../shared/bytes.js';
import { generateKeyPair } from '../shared/keys.js';
import { loadConfig } from '../terminal/config.js';
import { loadSigningKey, writeSigningKey } from '../terminal/keys.js';
import { probeBroker } from './broker-probe.js';
import { answerMessage, askCentral } from './central-link.js';
import { Refused } from './errors.js';
import { paths, readProvisionRecord, runningDaemon, type ProvisionRecord } from './terminal-dir.js';

export interface RotateOutcome {
  terminalId: string;
  publicKey: string;
  daemonReloaded: boolean;
}

function writeSecretAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function rotateCredentials(
  dir: string,
  opts: { timeoutMs?: number } = {},
): Promise<RotateOutcome> {
  const p = paths(dir);
  const config = loadConfig(p.config);
  const record: ProvisionRecord | undefined = readProvisionRecord(dir);
  if (!record)
    throw new Refused(
      'not_enrolled_over_network',
      `${p.provision} is missing: rotate needs a terminal enrolled with provision enroll`,
    );
  if (!config.mqtt?.passwordFile)
    throw new Refused('no_broker', 'this terminal has no MQTT secret to rotate');
  const secretFile = config.mqtt.passwordFile;
  const keyFile = config.signingKeyFile;
  const current = loadSigningKey(keyFile);
  const next = generateKeyPair('EdDSA');

  const begin = await askCentral(record, current, 'rotate', { publicKey: toHex(next.publicKey) });
  if (begin.status !== 200 || typeof begin.body.password !== 'string')
    throw new Refused(
      'rotate_refused',
      `central refused the rotation: ${answerMessage(begin)}. Nothing changed.`,
    );
  const password = begin.body.password;

  copyFileSync(keyFile, `${keyFile}.old`);
  copyFileSync(secretFile, `${secretFile}.old`);
  chmodSync(`${keyFile}.old`, 0o600);
  chmodSync(`${secretFile}.old`, 0o600);
  writeSigningKey(keyFile, next);
  writeSecretAtomic(secretFile, password + '\n');

  const daemon = runningDaemon(dir);
  const restore = () => {
    renameSync(`${keyFile}.old`, keyFile);
    renameSync(`${secretFile}.old`, secretFile);
    if (daemon) process.kill(daemon.pid, 'SIGHUP');
  };
  try {
    if (daemon) process.kill(daemon.pid, 'SIGHUP');
    else {
      const probe = await probeBroker({
        url: config.mqtt.url,
        username: config.mqtt.username ?? config.terminalId,
        password,
        ...(config.mqtt.caFile ? { ca: readFileSync(config.mqtt.caFile, 'utf8') } : {}),
      });
      if (probe.outcome !== 'accepted')
        throw new Refused(
          'new_secret_not_accepted',
          `the broker did not accept the new secret (${JSON.stringify(probe)})`,
        );
    }
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const commit = await askCentral(record, next, 'rotate-commit');
      if (commit.status === 200) break;
      const message = answerMessage(commit);
      if (commit.status !== 409 || !message.startsWith('not_proven') || Date.now() > deadline)
        throw new Refused('rotate_not_committed', `central did not commit the rotation: ${message}`);
      await sleep(500);
    }
  } catch (err) {
    restore();
    if (err instanceof Refused)
      throw new Refused(err.code, `${err.message}. The old key and secret are back in place and still work.`);
    throw err;
  }
  rmSync(`${keyFile}.old`, { force: true });
  rmSync(`${secretFile}.old`, { force: true });
  const rec = { ...record, rotatedAt: new Date().toISOString() };
  writeFileSync(p.provision, JSON.stringify(rec, null, 2) + '\n', { mode: 0o644 });
  return {
    terminalId: config.terminalId,
    publicKey: toHex(next.publicKey),
    daemonReloaded: daemon !== undefined,
  };
}
