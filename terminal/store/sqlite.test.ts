import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, keyId } from '../../shared/keys.js';
import { ListError, type SignedList } from '../../shared/lists.js';
import { encodeCardDelta, encodeCardSnapshot } from '../cards.js';
import { recoverStore, SqliteStore, StorageFullError } from './sqlite.js';

const serial = (n: number) => {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint32(12, n);
  return b;
};

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'passgate-store-'));
    store = new SqliteStore(join(dir, 'terminal.db'));
    store.open();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('assigns contiguous seqs that survive acks and reopening', () => {
    for (let i = 0; i < 5; i++)
      store.commitEvent({ kind: 'entry', at: 1000 + i, decision: 'accept', reason: 'ok' });
    expect(store.pendingEvents(0, 10).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    store.acknowledge(5);
    store.acknowledge(3); // idempotent, never backwards
    store.acknowledge(99); // never past what exists
    expect(store.ackedSeq).toBe(5);
    expect(store.outboxDepth).toBe(0);
    store.close();
    store.open();
    expect(store.commitEvent({ kind: 'entry', at: 2000 }).seq).toBe(6);
    expect(store.pendingEvents(0, 10).map((e) => e.seq)).toEqual([6]);
  });

  it('writes replay keys and passages in the same transaction as the event', () => {
    store.commitEvent(
      { kind: 'entry', at: 1 },
      {
        replay: { key: 'k1', expiresAt: 100 },
        passage: { sub: 's', gate: 'g', direction: 'in', at: 1 },
        occupancyDelta: 1,
      },
    );
    expect(store.hasSeen('k1')).toBe(true);
    expect(store.lastPassage('s', 'g')).toEqual({ direction: 'in', at: 1 });
    expect(store.occupancy).toBe(1);
    expect(store.prune(200, 0)).toBe(1);
    expect(store.hasSeen('k1')).toBe(false);
  });

  it('applies lists atomically with anti-rollback and cumulative deltas', () => {
    const issuer = generateKeyPair('EdDSA');
    const trust: SignedList = {
      type: 'trust',
      version: 1,
      issuedAt: 10,
      snapshot: {
        keys: [{ kid: keyId(issuer.publicKey), alg: 'EdDSA', publicKey: issuer.publicKey, issuer: 'x' }],
      },
    };
    expect(store.applyList(trust, 1)).toBe('apply');
    expect(store.issuerKey(keyId(issuer.publicKey))?.issuer).toBe('x');
    expect(store.applyList(trust, 1)).toBe('already_applied');
    store.applyList(
      {
        type: 'revocation',
        version: 3,
        issuedAt: 10,
        snapshot: { serials: [serial(1), serial(2)], subjects: ['a'] },
      },
      1,
    );
    const delta = (version: number, base: number): SignedList => ({
      type: 'revocation',
      version,
      base,
      issuedAt: 20,
      delta: { addSerials: [serial(3)], removeSerials: [serial(1)], addSubjects: [], removeSubjects: ['a'] },
    });
    expect(() => store.applyList(delta(6, 4), 1)).toThrow(ListError); // gap
    expect(store.applyList(delta(5, 2), 1)).toBe('apply'); // base 2 ≤ held 3 < 5
    expect(store.isRevoked(serial(1))).toBe(false);
    expect(store.isRevoked(serial(3))).toBe(true);
    expect(store.isSuspended('a')).toBe(false);
    expect(() =>
      store.applyList(
        { type: 'revocation', version: 4, issuedAt: 1, snapshot: { serials: [], subjects: [] } },
        1,
      ),
    ).toThrow(/older/);
    expect(store.listVersions().revocation).toMatchObject({ version: 5, issuedAt: 20 });
  });

  it('stores card bindings by hash only, with deltas', () => {
    const h = (n: number) => new Uint8Array(32).fill(n);
    store.applyList(
      {
        type: 'cards',
        version: 1,
        issuedAt: 1,
        snapshot: encodeCardSnapshot([{ h: h(1), sub: 'm1', blocked: false }]),
      },
      1,
    );
    expect(store.cardBinding(h(1))).toEqual({ sub: 'm1', blocked: false });
    store.applyList(
      {
        type: 'cards',
        version: 2,
        base: 1,
        issuedAt: 2,
        delta: encodeCardDelta({ upsert: [{ h: h(1), sub: 'm1', blocked: true }], remove: [] }),
      },
      1,
    );
    expect(store.cardBinding(h(1))).toEqual({ sub: 'm1', blocked: true });
    expect(() =>
      store.applyList(
        {
          type: 'cards',
          version: 3,
          issuedAt: 3,
          snapshot: new Map([['bindings', [new Map([['h', h(2)]])]]]),
        },
        1,
      ),
    ).toThrow(/binding 0.sub/);
    expect(store.listVersions().cards?.version).toBe(2);
  });

  it('reports a full disk as StorageFullError and records nothing', () => {
    store.commitEvent({ kind: 'entry', at: 1 });
    store.limitGrowth(0);
    const big = 'x'.repeat(100);
    expect(() => {
      for (let i = 0; i < 1000; i++)
        store.commitEvent({ kind: 'entry', at: 2, gate: big }, { replay: { key: big + i, expiresAt: 9 } });
    }).toThrow(StorageFullError);
    const last = store.lastSeq;
    expect(store.pendingEvents(0, 2000).length).toBe(last);
  });

  it('recover keeps the outbox and the seq counter, drops the caches', () => {
    for (let i = 0; i < 3; i++) store.commitEvent({ kind: 'entry', at: 5000 + i });
    store.acknowledge(1);
    store.applyList(
      { type: 'revocation', version: 1, issuedAt: 1, snapshot: { serials: [serial(1)], subjects: [] } },
      1,
    );
    store.close();
    const report = recoverStore(store.path);
    expect(report).toMatchObject({ keptEvents: 2, lastSeq: 3, ackedSeq: 1, integrity: 'ok' });
    store.open();
    expect(store.isRevoked(serial(1))).toBe(false);
    expect(store.listVersions()).toEqual({});
    expect(store.commitEvent({ kind: 'entry', at: 6000 }).seq).toBe(4);
    expect(store.clockRecord().lastEventAt).toBe(6000);
  });
  it('sees trust keys another process added or removed (load-lists while the daemon runs)', () => {
    const other = new SqliteStore(join(dir, 'terminal.db'));
    other.open({ quickCheck: false });
    try {
      const k = generateKeyPair('EdDSA');
      const key = {
        kid: keyId(k.publicKey),
        alg: 'EdDSA' as const,
        publicKey: k.publicKey,
        issuer: 'city-pass',
      };
      expect(store.issuerKey(key.kid)).toBeUndefined();
      other.applyList({ type: 'trust', version: 1, issuedAt: 1, snapshot: { keys: [key] } }, Date.now());
      expect(store.issuerKey(key.kid)?.issuer).toBe('city-pass');
      other.applyList({ type: 'trust', version: 2, issuedAt: 2, snapshot: { keys: [] } }, Date.now());
      expect(store.issuerKey(key.kid)).toBeUndefined();
    } finally {
      other.close();
    }
  });
});
