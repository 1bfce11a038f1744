import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, keyId } from '../../shared/keys.js';
import { ListError, type SignedList } from '../../shared/lists.js';
import { encodeCardDelta, encodeCardSnapshot } from '../../shared/cards.js';
import { recoverStore } from './recover.js';
import { SqliteStore, StorageFullError } from './sqlite.js';

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
    expect(store.outbox.pendingEvents(0, 10).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    store.outbox.acknowledge(5);
    store.outbox.acknowledge(3); // idempotent, never backwards
    store.outbox.acknowledge(99); // never past what exists
    expect(store.outbox.ackedSeq).toBe(5);
    expect(store.outbox.depth).toBe(0);
    store.close();
    store.open();
    expect(store.commitEvent({ kind: 'entry', at: 2000 }).seq).toBe(6);
    expect(store.outbox.pendingEvents(0, 10).map((e) => e.seq)).toEqual([6]);
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
    expect(store.verifier.hasSeen('k1')).toBe(true);
    expect(store.verifier.lastPassage('s', 'g')).toEqual({ direction: 'in', at: 1 });
    expect(store.verifier.occupancy).toBe(1);
    expect(store.maintenance.prune(200, 0)).toBe(1);
    expect(store.verifier.hasSeen('k1')).toBe(false);
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
    expect(store.lists.apply(trust, 1)).toBe('apply');
    expect(store.verifier.issuerKey(keyId(issuer.publicKey))?.issuer).toBe('x');
    expect(store.lists.apply(trust, 1)).toBe('already_applied');
    store.lists.apply(
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
    expect(() => store.lists.apply(delta(6, 4), 1)).toThrow(ListError); // gap
    expect(store.lists.apply(delta(5, 2), 1)).toBe('apply'); // base 2 ≤ held 3 < 5
    expect(store.verifier.isRevoked(serial(1))).toBe(false);
    expect(store.verifier.isRevoked(serial(3))).toBe(true);
    expect(store.verifier.isSuspended('a')).toBe(false);
    expect(() =>
      store.lists.apply(
        { type: 'revocation', version: 4, issuedAt: 1, snapshot: { serials: [], subjects: [] } },
        1,
      ),
    ).toThrow(/older/);
    expect(store.lists.versions().revocation).toMatchObject({ version: 5, issuedAt: 20 });
  });

  it('stores card bindings by hash only, with deltas', () => {
    const h = (n: number) => new Uint8Array(32).fill(n);
    store.lists.apply(
      {
        type: 'cards',
        version: 1,
        issuedAt: 1,
        snapshot: encodeCardSnapshot([
          { h: h(1), sub: 'm1', blocked: false, ent: [{ k: 'library', v: 'central' }], exp: 2_000_000_000 },
        ]),
      },
      1,
    );
    expect(store.verifier.cardBinding(h(1))).toEqual({
      sub: 'm1',
      blocked: false,
      ent: [{ k: 'library', v: 'central' }],
      exp: 2_000_000_000,
    });
    store.lists.apply(
      {
        type: 'cards',
        version: 2,
        base: 1,
        issuedAt: 2,
        delta: encodeCardDelta({ upsert: [{ h: h(1), sub: 'm1', blocked: true }], remove: [] }),
      },
      1,
    );
    expect(store.verifier.cardBinding(h(1))).toEqual({ sub: 'm1', blocked: true, ent: [] });
    expect(() =>
      store.lists.apply(
        {
          type: 'cards',
          version: 3,
          issuedAt: 3,
          snapshot: new Map([['bindings', [new Map([['h', h(2)]])]]]),
        },
        1,
      ),
    ).toThrow(/binding 0.sub/);
    expect(store.lists.versions().cards?.version).toBe(2);
  });

  it('reports a full disk as StorageFullError and records nothing', () => {
    store.commitEvent({ kind: 'entry', at: 1 });
    store.maintenance.limitGrowth(0);
    const big = 'x'.repeat(100);
    expect(() => {
      for (let i = 0; i < 1000; i++)
        store.commitEvent({ kind: 'entry', at: 2, gate: big }, { replay: { key: big + i, expiresAt: 9 } });
    }).toThrow(StorageFullError);
    const last = store.outbox.lastSeq;
    expect(store.outbox.pendingEvents(0, 2000).length).toBe(last);
  });

  it('recover keeps the outbox and the seq counter, drops the caches', () => {
    for (let i = 0; i < 3; i++) store.commitEvent({ kind: 'entry', at: 5000 + i });
    store.outbox.acknowledge(1);
    store.lists.apply(
      { type: 'revocation', version: 1, issuedAt: 1, snapshot: { serials: [serial(1)], subjects: [] } },
      1,
    );
    store.close();
    const report = recoverStore(store.path);
    expect(report).toMatchObject({ keptEvents: 2, lastSeq: 3, ackedSeq: 1, integrity: 'ok' });
    store.open();
    expect(store.verifier.isRevoked(serial(1))).toBe(false);
    expect(store.lists.versions()).toEqual({});
    expect(store.commitEvent({ kind: 'entry', at: 6000 }).seq).toBe(4);
    expect(store.clock.record().lastEventAt).toBe(6000);
  });
  it('a recovery that fails half way leaves no terminal.db; open() refuses; recover again continues', () => {
    for (let i = 0; i < 5; i++) store.commitEvent({ kind: 'entry', at: 7000 + i });
    store.outbox.acknowledge(2);
    store.close();
    expect(() =>
      recoverStore(store.path, {
        beforeReplace: () => {
          throw new Error('disk yanked');
        },
      }),
    ).toThrow('disk yanked');
    expect(existsSync(store.path)).toBe(false);
    const fresh = new SqliteStore(store.path);
    expect(() => fresh.open()).toThrow(
      /unfinished recovery.*terminal recover.*again.*move the \.damaged-\*/s,
    );
    expect(existsSync(store.path)).toBe(false);
    const report = recoverStore(store.path);
    expect(report).toMatchObject({ resumed: true, keptEvents: 3, lastSeq: 5, ackedSeq: 2, markers: 0 });
    expect(readdirSync(dir).filter((f) => f.includes('.recovering'))).toEqual([]);
    store.open(); // the damaged file is still next to it: an existing database opens as before
    expect(store.outbox.pendingEvents(0, 10).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(store.commitEvent({ kind: 'entry', at: 8000 }).seq).toBe(6);
  });

  it('recover fills unreadable outbox rows with record_lost markers so the seq run has no holes', () => {
    for (let i = 1; i <= 20; i++) store.commitEvent({ kind: 'entry', at: 9000 + i, gate: 'g' });
    store.outbox.acknowledge(5);
    store.close();
    const raw = new Database(store.path);
    raw.prepare('DELETE FROM outbox WHERE seq IN (8, 9, 15, 20)').run();
    raw.prepare("UPDATE outbox SET body = '{not json' WHERE seq = 12").run();
    raw.prepare(`UPDATE outbox SET body = '{"seq":13,"kind":"no_such_kind","at":1}' WHERE seq = 13`).run();
    raw.close();
    const report = recoverStore(store.path);
    expect(report).toMatchObject({ keptEvents: 9, lastSeq: 20, ackedSeq: 5, lostEventRows: 6, markers: 6 });
    store.open();
    const pending = store.outbox.pendingEvents(0, 100);
    expect(pending.map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 6));
    const lost = pending.filter((e) => e.kind === 'record_lost');
    expect(lost.map((e) => e.seq)).toEqual([8, 9, 12, 13, 15, 20]);
    for (const e of lost)
      expect(e).toEqual({ seq: e.seq, kind: 'record_lost', at: 9020, data: { recovered: true } });
    expect(pending.find((e) => e.seq === 7)).toEqual({ seq: 7, kind: 'entry', at: 9007, gate: 'g' });
    expect(store.commitEvent({ kind: 'entry', at: 9100 }).seq).toBe(21);
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
      expect(store.verifier.issuerKey(key.kid)).toBeUndefined();
      other.lists.apply({ type: 'trust', version: 1, issuedAt: 1, snapshot: { keys: [key] } }, Date.now());
      expect(store.verifier.issuerKey(key.kid)?.issuer).toBe('city-pass');
      other.lists.apply({ type: 'trust', version: 2, issuedAt: 2, snapshot: { keys: [] } }, Date.now());
      expect(store.verifier.issuerKey(key.kid)).toBeUndefined();
    } finally {
      other.close();
    }
  });
});
