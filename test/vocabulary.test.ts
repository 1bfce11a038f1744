// One vocabulary (issue 9 item 11): terminal id, role, gate, direction and member pseudonym are checked by
// shared/ids.ts everywhere they enter — the terminal config schema, the admin API, the CLI and the issuer —
// so a value refused in one place is refused in all of them, and nothing is burned on the way.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../central/index.js';
import { IssuerKeystore } from '../issuer/keystore.js';
import { runMain } from '../testkit/cli.js';
import { isGate, isRole, isSubject, isTerminalId } from '../shared/ids.js';
import { toHex } from '../shared/bytes.js';
import { generateKeyPair } from '../shared/keys.js';
import { ConfigError, validateConfig } from '../terminal/config.js';

const logger = pino({ level: 'silent' });
let dir: string;
let central: Central;

const cli = runMain;

function config(over: Record<string, unknown>): Record<string, unknown> {
  return {
    terminalId: 'gate-1',
    role: 'turnstile',
    gate: 'north',
    dataDir: dir,
    listPublicKey: toHex(generateKeyPair('EdDSA').publicKey),
    signingKeyFile: 'key.json',
    ...over,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-vocabulary-'));
  central = await startCentral({
    dataDir: join(dir, 'central'),
    mqttPort: 0,
    httpPort: 0,
    logger,
    scryptCost: 10,
  });
});

afterAll(async () => {
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const BAD_TERMINALS = ['Gate-1', 'gate/1', '', 'central', 'admin', 'a'.repeat(64)];
const BAD_ROLES = ['robot', 'Turnstile', ''];
const BAD_GATES = ['north gate', '', 'x'.repeat(65), 'nörth'];
const BAD_SUBJECTS = ['ab', 'Jane Doe', 'x'.repeat(65)];

describe('one validator per concept', () => {
  it('the config schema refuses what shared/ids refuses', () => {
    for (const terminalId of BAD_TERMINALS) {
      expect(isTerminalId(terminalId)).toBe(false);
      expect(() => validateConfig(config({ terminalId }), dir), terminalId).toThrow(ConfigError);
    }
    for (const role of BAD_ROLES) {
      expect(isRole(role)).toBe(false);
      expect(() => validateConfig(config({ role }), dir), role).toThrow(ConfigError);
    }
    for (const gate of BAD_GATES) {
      expect(isGate(gate)).toBe(false);
      expect(() => validateConfig(config({ gate }), dir), gate).toThrow(ConfigError);
    }
    expect(() => validateConfig(config({ directions: ['up'] }), dir)).toThrow(ConfigError);
    expect(validateConfig(config({}), dir).terminalId).toBe('gate-1');
  });

  it('the admin API refuses an unknown role or a reserved id with 400 and keeps no code', async () => {
    for (const role of BAD_ROLES)
      await expect(central.createEnrollmentCode('gate-2', role)).rejects.toThrow(/role/);
    for (const id of BAD_TERMINALS)
      await expect(central.createEnrollmentCode(id, 'turnstile')).rejects.toThrow(/terminal/);
    for (const sub of BAD_SUBJECTS) await expect(central.suspend(sub)).rejects.toThrow(/sub/);
    const token = readFileSync(join(dir, 'central', 'admin.token'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${central.httpPort}/enroll-codes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ terminal: 'gate-2', role: 'robot' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/role.*turnstile, kiosk, counter/);
  });

  it('the CLI refuses the same values with exit 2 naming the option', async () => {
    const issuer = join(dir, 'issuer');
    IssuerKeystore.init(issuer, { alg: 'EdDSA', issuer: 'city' });
    const wallet = join(dir, 'w.json');
    expect((await cli(['wallet', 'new', '--file', wallet])).code).toBe(0);
    for (const sub of BAD_SUBJECTS) {
      const r = await cli([
        'issuer',
        'issue',
        '--dir',
        issuer,
        '--wallet',
        wallet,
        '--sub',
        sub,
        '--ent',
        'venue',
      ]);
      expect(r.code, sub).toBe(2);
      expect(r.err).toMatch(/--sub: .* is not a member pseudonym/);
    }
    const cd = join(dir, 'central');
    let r = await cli([
      'issuer',
      'enroll-code',
      '--central-data',
      cd,
      '--terminal',
      'gate-3',
      '--role',
      'robot',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--role: "robot" is not a role/);
    r = await cli(['issuer', 'enroll-code', '--central-data', cd, '--terminal', 'Gate 3', '--role', 'kiosk']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--terminal: /);
    r = await cli(['issuer', 'suspend', '--dir', issuer, '--sub', 'Jane Doe']);
    expect(r.code).toBe(2);
    r = await cli(['terminal', 'enroll', '--code', 'x', '--dir', join(dir, 't'), '--gate', 'north gate']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--gate: /);
    expect(isSubject('m-7f3a91')).toBe(true);
  });
});
