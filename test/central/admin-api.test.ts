// The admin HTTP API over real HTTP: bearer-token auth, and enrollment end to end (one-time code →
// POST /enroll with a fresh key → those credentials drain a real MqttSync client's outbox).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrollmentResult } from '../../shared/admin-api.js';
import { startCentral, type Central } from '../../central/index.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { generateKeyPair, VerifyKey } from '../../shared/keys.js';
import { MqttSync } from '../../terminal/adapters/mqtt-sync.js';
import { waitFor } from '../../testkit/wait.js';
import { SimPort as FakePort } from '../../testkit/sim-port.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
let dir: string;
let central: Central;
let token: string;

async function call(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  /** null: no Authorization header (undefined would pick the default). */
  auth: string | null = token,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${central.httpPort}${path}`, {
    method,
    headers: auth === null ? {} : { authorization: `Bearer ${auth}` },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-central-admin-'));
  central = await startCentral({ dataDir: dir, mqttPort: 0, httpPort: 0, logger, scryptCost: 10 });
  token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
});

afterAll(async () => {
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('admin API auth', () => {
  it('writes a 32-byte hex token readable by the owner only', () => {
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(dir, 'admin.token')).mode & 0o777).toBe(0o600);
  });

  it('refuses requests without the token or with a wrong one, and changes nothing', async () => {
    const before = (await central.status()).lists.revocation!.version;
    const cti = 'aa112233445566778899aabbccddeeff';
    for (const auth of [null, 'f'.repeat(64), token.slice(0, 63), `${token}x`]) {
      const r = await call('POST', '/revoke', { cti }, auth);
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ error: 'unauthorized' });
      expect(r.json.message).toMatch(/admin token/);
      expect((await call('GET', '/status', undefined, auth)).status).toBe(401);
      expect((await call('POST', '/enroll-codes', { terminal: 'x-1', role: 'kiosk' }, auth)).status).toBe(
        401,
      );
    }
    // a token sent as a query or with another scheme is no token
    const basic = await fetch(`http://127.0.0.1:${central.httpPort}/status`, {
      headers: { authorization: `Basic ${token}` },
    });
    expect(basic.status).toBe(401);
    expect((await central.status()).lists.revocation!.version).toBe(before);
    expect((await central.status()).terminals).toHaveLength(0);

    // the health check and the terminal's own enrollment need no token
    expect(await call('GET', '/healthz', undefined, null)).toEqual({
      status: 200,
      json: { ok: true, database: 'ok', broker: 'connected', leader: true },
    });
    const enroll = await call('POST', '/enroll', { code: 'nope', publicKey: '00'.repeat(32) }, null);
    expect(enroll.status).toBe(400);

    // with the token
    const ok = await call('POST', '/revoke', { cti });
    expect(ok).toEqual({ status: 200, json: { version: before + 1 } });
  });

  it('trusting an already trusted issuer key makes no new trust-list version', async () => {
    const k = generateKeyPair('EdDSA');
    const v1 = await central.trustIssuerKey({ alg: 'EdDSA', publicKey: k.publicKey, issuer: 'city' });
    expect(await central.trustIssuerKey({ alg: 'EdDSA', publicKey: k.publicKey, issuer: 'city' })).toBe(v1);
    const http = await call('POST', '/issuer-keys', {
      alg: 'EdDSA',
      publicKey: toHex(k.publicKey),
      issuer: 'city',
    });
    expect(http).toEqual({ status: 200, json: { version: v1 } });
    // a changed entry (another issuer name) is a change
    expect(await central.trustIssuerKey({ alg: 'EdDSA', publicKey: k.publicKey, issuer: 'town' })).toBe(
      v1 + 1,
    );
  });
});

describe('enrollment over HTTP', () => {
  it('code → enroll with a fresh key → the credentials drain a real sync client', async () => {
    const made = await call('POST', '/enroll-codes', { terminal: 'kiosk-1', role: 'kiosk', ttlSeconds: 600 });
    expect(made.status).toBe(200);
    const code = made.json.code as string;
    expect(code).toMatch(/^[A-Za-z0-9_-]{10,}$/);

    const key = generateKeyPair('EdDSA');
    const enrolled = await call('POST', '/enroll', { code, publicKey: toHex(key.publicKey) }, null);
    expect(enrolled.status).toBe(200);
    const r = enrolled.json as unknown as EnrollmentResult;
    expect(r).toMatchObject({
      terminalId: 'kiosk-1',
      username: 'kiosk-1',
      listKey: toHex(central.listPublicKey),
      mqtt: { url: central.mqttUrl, protocolVersion: 4 },
      config: { role: 'kiosk' },
    });

    const port = new FakePort('kiosk-1', fromHex(r.listKey));
    port.commit(250);
    const sync = new MqttSync(port, {
      url: r.mqtt.url,
      username: r.username,
      password: r.password,
      terminalKey: key,
      listKey: new VerifyKey('EdDSA', fromHex(r.listKey)),
      logger,
      protocolVersion: r.mqtt.protocolVersion,
      heartbeatMs: 500,
      ackTimeoutMs: 3000,
    });
    sync.start();
    try {
      await waitFor('outbox drained', () => port.outbox.length === 0, 20_000);
      expect(await central.eventCount('kiosk-1')).toBe(250);
      // the lists it got verify with the list key it was given
      await waitFor('lists', () => port.store.listVersions.get('revocation') !== undefined, 10_000);
    } finally {
      await sync.stop();
    }

    // the code works once
    const again = await call(
      'POST',
      '/enroll',
      { code, publicKey: toHex(generateKeyPair('EdDSA').publicKey) },
      null,
    );
    expect(again).toEqual({
      status: 400,
      json: {
        error: 'invalid',
        message: 'code: unknown, already used or expired; ask for a new enrollment code',
      },
    });
  });

  it('refuses an unknown code, a code past its TTL, and bad fields with a plain message', async () => {
    const publicKey = toHex(generateKeyPair('EdDSA').publicKey);
    const unknown = await call('POST', '/enroll', { code: 'AAAAAAAAAAAAAA', publicKey }, null);
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/unknown, already used or expired/);

    const code = await central.createEnrollmentCode('gate-late', 'turnstile', 1);
    await new Promise((r) => setTimeout(r, 20));
    const late = await call('POST', '/enroll', { code, publicKey }, null);
    expect(late.status).toBe(400);
    expect(late.json.message).toMatch(/unknown, already used or expired/);
    expect((await central.status()).terminals.some((t) => t.id === 'gate-late')).toBe(false);

    const noKey = await call('POST', '/enroll', { code: 'x' }, null);
    expect(noKey).toMatchObject({ status: 400, json: { message: expect.stringMatching(/^publicKey/) } });
    const badTtl = await call('POST', '/enroll-codes', { terminal: 'gate-9', role: 'kiosk', ttlSeconds: 0 });
    expect(badTtl).toMatchObject({ status: 400, json: { message: expect.stringMatching(/^ttlSeconds/) } });
  });
});
