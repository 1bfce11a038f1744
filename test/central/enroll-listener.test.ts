// Central's HTTPS enrollment listener on its own: serves only enrollment and signed terminal requests,
// refuses admin routes, caps bodies, rate-limits per address, and answers signed requests only when the
// signature, terminal and time fit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { pinnedPost, type PinnedEndpoint } from '../../provisioning/pinned.js';
import { toHex } from '../../shared/bytes.js';
import { generateKeyPair } from '../../shared/keys.js';
import { signTerminalRequest } from '../../shared/terminal-request.js';
import { commandExists, requireComponent } from '../../testkit/components.js';

const haveOpenssl = requireComponent('openssl', commandExists('openssl'), 'apt-get install openssl');
let tmp: string;
let central: Central;
let at: PinnedEndpoint;

beforeAll(async () => {
  if (!haveOpenssl) return;
  tmp = mkdtempSync(join(tmpdir(), 'pg-enroll-'));
  central = await startCentral({
    dataDir: tmp,
    mqttPort: 0,
    mqttHost: '127.0.0.1',
    httpPort: 0,
    scryptCost: 10,
    logger: pino({ level: 'silent' }),
    enroll: { port: 0, host: '127.0.0.1', publicHost: '127.0.0.1', burst: 8, perMinute: 1 },
  });
  at = { host: '127.0.0.1', port: central.enrollment!.port, fingerprint: central.enrollment!.fingerprint };
});

afterAll(async () => {
  if (!haveOpenssl) return;
  await central.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!haveOpenssl)('enrollment listener', () => {
  it('enrolls with a code and no admin token; signed requests need the right key and time', async () => {
    const key = generateKeyPair('EdDSA');
    const code = await central.createEnrollmentCode('gate-e', 'kiosk');
    const r = await pinnedPost(at, '/enroll', { code, publicKey: toHex(key.publicKey) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ terminalId: 'gate-e', config: { role: 'kiosk' } });
    const other = generateKeyPair('EdDSA');
    const forged = signTerminalRequest(other, { action: 'retire', terminal: 'gate-e', t: Date.now() });
    expect((await pinnedPost(at, '/terminal', forged)).status).toBe(403);
    const stale = signTerminalRequest(key, {
      action: 'retire',
      terminal: 'gate-e',
      t: Date.now() - 3_600_000,
    });
    expect((await pinnedPost(at, '/terminal', stale)).body.message).toMatch(/stale/);
    const commitWithoutRotation = signTerminalRequest(key, {
      action: 'rotate-commit',
      terminal: 'gate-e',
      t: Date.now(),
    });
    expect((await pinnedPost(at, '/terminal', commitWithoutRotation)).status).toBe(409);
  });

  it('serves nothing of the admin API, caps bodies and rate-limits an address', async () => {
    expect((await pinnedPost(at, '/revoke', { cti: '00'.repeat(16) })).status).toBe(404);
    const big = await pinnedPost(at, '/enroll', { code: 'x', publicKey: 'ab', pad: 'y'.repeat(5000) });
    expect(big.status).toBe(400);
    expect(big.body.message).toMatch(/over 4096 bytes/);
    let limited = 0;
    for (let i = 0; i < 8; i++)
      if ((await pinnedPost(at, '/enroll', { code: 'nope', publicKey: 'ab' })).status === 429) limited++;
    expect(limited).toBeGreaterThan(0);
  });
});
