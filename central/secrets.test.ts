// Terminal secret hashing (HMAC, legacy scrypt), the login limiter and the socket guard's header reader.
import { describe, expect, it } from 'vitest';
import { FixedHeaderReader, DEFAULT_GUARD_LIMITS } from './broker-guard.js';
import { LoginLimiter, DEFAULT_LOGIN_LIMITS } from './login-limiter.js';
import {
  checkSecret,
  hashSecret,
  hmacSecretHash,
  isLegacyHash,
  newSecret,
  secretHmacKey,
} from './secrets.js';

describe('terminal secrets', () => {
  it('checks HMAC hashes under the server key and still reads legacy scrypt ones', async () => {
    const key = secretHmacKey(new Uint8Array(32).fill(1));
    const other = secretHmacKey(new Uint8Array(32).fill(2));
    const secret = newSecret();
    const h = hmacSecretHash(secret, key);
    expect(h).toMatch(/^hmac\$/);
    expect(await checkSecret(secret, h, key)).toBe(true);
    expect(await checkSecret(secret, h, other)).toBe(false);
    expect(await checkSecret(`${secret}x`, h, key)).toBe(false);
    const legacy = await hashSecret(secret, 10);
    expect(isLegacyHash(legacy)).toBe(true);
    expect(await checkSecret(secret, legacy, key)).toBe(true);
  });
});

describe('login limiter', () => {
  it('refuses an address over its failures, except for a username that logged in from it', async () => {
    let now = 0;
    const l = new LoginLimiter({ ...DEFAULT_LOGIN_LIMITS, failuresPerAddress: 3 }, () => now);
    l.succeeded('10.0.0.1', 'gate-1');
    for (let i = 0; i < 3; i++) l.failed('10.0.0.1', 'gate-2');
    expect(l.gate('10.0.0.1', 'gate-2')).toBe('address_limited');
    expect(l.gate('10.0.0.1', 'gate-1')).toBe('ok');
    expect(l.gate('10.0.0.9', 'gate-2')).toBe('ok');
    now += DEFAULT_LOGIN_LIMITS.windowMs;
    expect(l.gate('10.0.0.1', 'gate-2')).toBe('ok');
  });

  it('bounds concurrent checks and the queue', async () => {
    const l = new LoginLimiter({ ...DEFAULT_LOGIN_LIMITS, concurrency: 1, maxQueued: 1 });
    let release!: () => void;
    const first = l.run(() => new Promise<string>((r) => (release = () => r('a'))));
    const second = l.run(async () => 'b');
    expect(await l.run(async () => 'c')).toBe('busy');
    release();
    expect([await first, await second]).toEqual(['a', 'b']);
  });
});

describe('socket guard: MQTT fixed headers', () => {
  const limits = { ...DEFAULT_GUARD_LIMITS, preConnectBytes: 1024, maxPacketBytes: 4096 };
  it('refuses a first packet that is not CONNECT, and an announced length over the limit', () => {
    expect(new FixedHeaderReader(limits).push(Uint8Array.of(0x30, 0x00))).toBe('first_packet_not_connect');
    // CONNECT announcing 268,435,455 bytes: refused on its 5th byte, before any body
    expect(new FixedHeaderReader(limits).push(Uint8Array.of(0x10, 0xff, 0xff, 0xff, 0x7f))).toBe(
      'packet_too_large',
    );
    expect(new FixedHeaderReader(limits).push(Uint8Array.of(0x10, 0xff, 0xff, 0xff, 0xff, 0x01))).toBe(
      'bad_length',
    );
  });

  it('counts bodies across chunks and applies the larger limit after the login', () => {
    const r = new FixedHeaderReader(limits);
    expect(r.push(Uint8Array.of(0x10, 0x02, 0x00))).toBeUndefined();
    expect(r.push(Uint8Array.of(0x00))).toBeUndefined();
    expect(r.push(Uint8Array.of(0x30, 0x80, 0x10))).toBe('packet_too_large'); // 2048 > 1024 pre-login
    const a = new FixedHeaderReader(limits);
    a.push(Uint8Array.of(0x10, 0x00));
    a.authenticated = true;
    expect(a.push(Uint8Array.of(0x30, 0x80, 0x10))).toBeUndefined(); // 2048 ≤ 4096
    expect(a.push(new Uint8Array(2048))).toBeUndefined();
    expect(a.push(Uint8Array.of(0x30, 0x81, 0x20))).toBe('packet_too_large'); // 4097
    const b = new FixedHeaderReader(limits);
    expect(b.push(Uint8Array.of(0x10, 0x00))).toBeUndefined();
    expect(b.push(new Uint8Array(2000))).toBe('pre_connect_budget');
  });
});
