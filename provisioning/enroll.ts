// `provision enroll STRING`: redeem a one-time code at central's enrollment listener, with central's
// certificate pinned by the fingerprint in the string, and write the terminal's folder.
// Order: check the string (checksum) and the folder (not enrolled, or --force) → generate the key →
// redeem over pinned HTTPS → write every file into a temporary folder → validate the config → move into
// place (the whole folder in one rename when it is new or empty; otherwise file by file with terminal.json,
// the mark of an enrolled folder, last). A refused, mistyped or unreachable enrollment writes nothing.
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { toHex } from '../shared/bytes.js';
import { decodeEnrollment, showFingerprint, type Enrollment } from '../shared/enrollment-string.js';
import { InvalidInput } from '../shared/errors.js';
import { assertGate } from '../shared/ids.js';
import { generateKeyPair } from '../shared/keys.js';
import { writeSigningKey } from '../terminal/keys.js';
import { validateConfig, ROLES } from '../terminal/config.js';
import { Refused } from './errors.js';
import { PinMismatch, pinnedPost, Unreachable } from './pinned.js';
import { FILES, paths, type ProvisionRecord } from './terminal-dir.js';

export interface EnrollRequest {
  enrollment: string;
  dir: string;
  gate?: string;
  force?: boolean;
  /** Override the broker URL central announces. */
  mqttUrl?: string;
  tcpPort?: number;
  httpPort?: number;
}

export interface EnrollOutcome {
  terminalId: string;
  role: string;
  gate: string;
  dir: string;
  configFile: string;
  mqttUrl: string;
  fingerprint: string;
  mqttPinned: boolean;
  /** Where a forced re-enrollment moved the previous identity. */
  replacedInto?: string;
}

interface EnrollAnswer {
  terminalId: string;
  username: string;
  password: string;
  listKey: string;
  mqtt: { url: string };
  config: { role: string };
  mqttCertificate?: string;
  cardKey?: string;
}

function readAnswer(b: Record<string, unknown>): EnrollAnswer {
  const ok =
    typeof b.terminalId === 'string' &&
    typeof b.username === 'string' &&
    typeof b.password === 'string' &&
    typeof b.listKey === 'string' &&
    typeof (b.mqtt as { url?: unknown } | undefined)?.url === 'string' &&
    typeof (b.config as { role?: unknown } | undefined)?.role === 'string';
  if (!ok) throw new Refused('bad_answer', 'central answered the enrollment without the expected fields');
  return b as unknown as EnrollAnswer;
}

/** Files an enrolled folder holds that belong to its identity (moved aside by --force). */
const IDENTITY_FILES = [
  FILES.config,
  FILES.key,
  FILES.secret,
  FILES.cardKey,
  FILES.ca,
  FILES.provision,
  FILES.db,
  `${FILES.db}-wal`,
  `${FILES.db}-shm`,
];

export async function enrollTerminal(req: EnrollRequest): Promise<EnrollOutcome> {
  const e: Enrollment = decodeEnrollment(req.enrollment);
  if (req.gate !== undefined) assertGate(req.gate, '--gate');
  const p = paths(req.dir);
  if (existsSync(p.config) && !req.force)
    throw new Refused(
      'already_enrolled',
      `${p.dir} is already enrolled (${p.config} exists); nothing was changed. To replace it, run ` +
        '`passgate provision decommission` first, or enroll again with --force (the old identity is moved aside, not retired)',
    );

  // Everything goes into a temporary folder next to the target; made first, so a folder we cannot write
  // is found out before the one-time code is spent.
  const tmp = join(dirname(p.dir), `.${p.dir.split('/').pop()}.enroll-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(dirname(p.dir), { recursive: true });
    mkdirSync(tmp, { mode: 0o700 });
  } catch (err) {
    throw new Refused(
      'cannot_write',
      `cannot write next to ${p.dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
        'run as a user who may (sudo), or choose another --dir. The code was not used.',
    );
  }
  try {
    const key = generateKeyPair('EdDSA');
    let answer: EnrollAnswer;
    try {
      const r = await pinnedPost(e, '/enroll', {
        code: e.code,
        publicKey: toHex(key.publicKey),
        alg: 'EdDSA',
      });
      if (r.status === 429)
        throw new Refused('rate_limited', 'central refused: too many attempts from here; wait a minute');
      if (r.status !== 200) {
        const message = typeof r.body.message === 'string' ? r.body.message : `HTTP ${r.status}`;
        throw new Refused('code_refused', `central refused the enrollment: ${message}. Nothing was written.`);
      }
      answer = readAnswer(r.body);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (err instanceof PinMismatch)
        throw new Refused(
          'pin_mismatch',
          `central at ${e.host}:${e.port} presented certificate ${showFingerprint(err.got)}, not the pinned ` +
            `${showFingerprint(e.fingerprint)}: the string is for another central, or something is in between. ` +
            'Nothing was sent or written.',
        );
      if (err instanceof Unreachable)
        throw new Refused(
          'unreachable',
          `${err.message}: check the network and that central runs with --enroll-port. Nothing was written.`,
        );
      throw err;
    }
    if (!(ROLES as readonly string[]).includes(answer.config.role))
      throw new Refused(
        'unknown_role',
        `central enrolled ${answer.terminalId} as "${answer.config.role}", which this terminal cannot run (${ROLES.join(', ')})`,
      );
    const mqttUrl = req.mqttUrl ?? answer.mqtt.url;
    let mqttFingerprint: string | undefined;
    // A self-signed broker certificate becomes the daemon's only trust anchor (central-ca.pem); one a CA
    // signed is checked against the system's CAs as usual. Either way its fingerprint is pinned for doctor.
    let selfSigned = false;
    if (answer.mqttCertificate) {
      try {
        const cert = new X509Certificate(answer.mqttCertificate);
        mqttFingerprint = cert.fingerprint256.replaceAll(':', '').toLowerCase();
        selfSigned = cert.checkIssued(cert) && cert.verify(cert.publicKey);
      } catch {
        throw new Refused(
          'bad_answer',
          'central sent a broker certificate that is not a valid PEM certificate',
        );
      }
    }
    const gate = req.gate ?? answer.terminalId;
    const config = {
      terminalId: answer.terminalId,
      role: answer.config.role,
      gate,
      dataDir: '.',
      listPublicKey: answer.listKey,
      signingKeyFile: FILES.key,
      ...(answer.cardKey ? { cardKeyFile: FILES.cardKey } : {}),
      inputs: { stdin: false, tcp: { port: req.tcpPort ?? 7410, host: '127.0.0.1' } },
      http: { port: req.httpPort ?? 7411, host: '127.0.0.1' },
      mqtt: {
        url: mqttUrl,
        username: answer.username,
        passwordFile: FILES.secret,
        ...(selfSigned && mqttUrl.startsWith('mqtts:') ? { caFile: FILES.ca } : {}),
      },
    };
    try {
      validateConfig(config, p.dir);
    } catch (err) {
      throw new Refused(
        'bad_config',
        `central's answer makes an invalid terminal config: ${(err as Error).message}`,
      );
    }
    const record: ProvisionRecord = {
      terminalId: answer.terminalId,
      enroll: { host: e.host, port: e.port, fingerprint: e.fingerprint },
      ...(mqttFingerprint ? { mqttFingerprint } : {}),
      enrolledAt: new Date().toISOString(),
    };

    try {
      const secret = (name: string, text: string) => {
        writeFileSync(join(tmp, name), text, { mode: 0o600 });
        chmodSync(join(tmp, name), 0o600);
      };
      writeSigningKey(join(tmp, FILES.key), key);
      secret(FILES.secret, answer.password + '\n');
      if (answer.cardKey) secret(FILES.cardKey, answer.cardKey + '\n');
      if (answer.mqttCertificate) writeFileSync(join(tmp, FILES.ca), answer.mqttCertificate, { mode: 0o644 });
      writeFileSync(join(tmp, FILES.provision), JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
      writeFileSync(join(tmp, FILES.config), JSON.stringify(config, null, 2) + '\n', { mode: 0o640 });

      let replacedInto: string | undefined;
      const empty = !existsSync(p.dir) || readdirSync(p.dir).length === 0;
      if (empty) {
        if (existsSync(p.dir)) rmSync(p.dir, { recursive: true }); // an empty folder: rename can't replace it portably
        renameSync(tmp, p.dir);
      } else {
        if (existsSync(p.config)) {
          replacedInto = join(p.dir, `replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
          mkdirSync(replacedInto, { mode: 0o700 });
          for (const f of IDENTITY_FILES)
            if (existsSync(join(p.dir, f))) renameSync(join(p.dir, f), join(replacedInto, f));
        }
        for (const f of readdirSync(tmp).filter((f) => f !== FILES.config))
          renameSync(join(tmp, f), join(p.dir, f));
        renameSync(join(tmp, FILES.config), p.config);
        rmSync(tmp, { recursive: true, force: true });
      }
      chmodSync(p.dir, 0o700);
      return {
        terminalId: answer.terminalId,
        role: answer.config.role,
        gate,
        dir: p.dir,
        configFile: p.config,
        mqttUrl,
        fingerprint: e.fingerprint,
        mqttPinned: mqttFingerprint !== undefined && mqttUrl.startsWith('mqtts:'),
        ...(replacedInto ? { replacedInto } : {}),
      };
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (err instanceof InvalidInput || err instanceof Refused) throw err;
      throw new Refused(
        'write_failed',
        `central enrolled ${answer.terminalId} but its folder could not be written (${(err as Error).message}); ` +
          'the code is used: ask for a new one',
      );
    }
  } finally {
    // Gone after a successful move; whatever a refusal left half-written is removed.
    rmSync(tmp, { recursive: true, force: true });
  }
}
