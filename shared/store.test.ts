import { describe, expect, it } from 'vitest';
import { fromHex } from './bytes.js';
import { ALL_REASONS, REASON_TEXT, TOKEN_REASONS } from './reasons.js';
import { MemoryStore } from './store.js';

describe('MemoryStore', () => {
  it('answers the VerifierStore questions', () => {
    const store = new MemoryStore();
    const kid = fromHex('0102030405060708');
    expect(store.issuerKey(kid)).toBeUndefined();
    store.addKey({ kid, alg: 'EdDSA', publicKey: new Uint8Array(32), issuer: 'x' });
    expect(store.issuerKey(kid)?.issuer).toBe('x');
    store.revoked.add('aa'.repeat(16));
    expect(store.isRevoked(fromHex('aa'.repeat(16)))).toBe(true);
    expect(store.isRevoked(fromHex('ab'.repeat(16)))).toBe(false);
    store.suspended.add('m-1');
    expect(store.isSuspended('m-1')).toBe(true);
    expect(store.isSuspended('m-2')).toBe(false);
  });

  it('replay cache: markSeen, hasSeen and prune by expiry', () => {
    const store = new MemoryStore();
    store.markSeen('a', 100);
    store.markSeen('b', 200);
    expect(store.hasSeen('a')).toBe(true);
    store.prune(150);
    expect(store.hasSeen('a')).toBe(false);
    expect(store.hasSeen('b')).toBe(true);
  });

  it('verified-credential cache stays bounded', () => {
    const store = new MemoryStore();
    for (let i = 0; i < 10_050; i++) store.rememberVerifiedCredential(String(i), 1);
    expect(store.verified.size).toBeLessThanOrEqual(10_001);
    expect(store.isVerifiedCredential('10049')).toBe(true);
  });
});

describe('reason codes', () => {
  it('are unique, snake_case, and each has plain words', () => {
    expect(new Set(ALL_REASONS).size).toBe(ALL_REASONS.length);
    for (const r of ALL_REASONS) {
      expect(r).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(REASON_TEXT[r].length, r).toBeGreaterThan(5);
    }
    expect(Object.keys(REASON_TEXT).sort()).toEqual([...ALL_REASONS].sort());
    expect(ALL_REASONS[0]).toBe('ok');
    expect(TOKEN_REASONS[0]).toBe('malformed');
  });
});
