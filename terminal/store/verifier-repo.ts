// What a decision reads: the token core's VerifierStore (trust keys, revocations, suspensions, replay
// cache, verified-credential cache) and the policy state (card bindings, passages, occupancy).
import type { Entitlement } from '../../shared/credential.js';
import { toHex } from '../../shared/bytes.js';
import type { Alg } from '../../shared/keys.js';
import type { TrustedIssuerKey, VerifierStore } from '../../shared/store.js';
import type { Connection } from './db.js';

export interface Passage {
  direction: 'in' | 'out';
  /** Unix ms. */
  at: number;
}

export class VerifierRepo implements VerifierStore {
  private keys = new Map<string, TrustedIssuerKey>();
  private verifiedMemo = new Map<string, number>();
  private pendingVerified: Array<[string, number]> = [];
  private readonly stmts;

  constructor(private readonly conn: Connection) {
    const db = conn.db;
    this.stmts = {
      revoked: db.prepare('SELECT 1 FROM revoked_serials WHERE serial = ?').pluck(),
      suspended: db.prepare('SELECT 1 FROM suspended_subjects WHERE sub = ?').pluck(),
      seen: db.prepare('SELECT 1 FROM replay_cache WHERE key = ?').pluck(),
      verified: db.prepare('SELECT expires_at FROM verified_credentials WHERE digest = ?').pluck(),
      insertReplay: db.prepare('INSERT OR REPLACE INTO replay_cache (key, expires_at) VALUES (?, ?)'),
      fleetReplay: db.prepare('INSERT OR IGNORE INTO replay_cache (key, expires_at) VALUES (?, ?)'),
      insertVerified: db.prepare(
        'INSERT OR REPLACE INTO verified_credentials (digest, expires_at) VALUES (?, ?)',
      ),
      card: db.prepare('SELECT sub, blocked, ent, exp FROM card_bindings WHERE h = ?'),
      passage: db.prepare('SELECT direction, at FROM passages WHERE sub = ? AND gate = ?'),
      upsertPassage: db.prepare(
        'INSERT OR REPLACE INTO passages (sub, gate, direction, at) VALUES (?, ?, ?, ?)',
      ),
      keys: db.prepare('SELECT kid, alg, public_key, issuer, not_before, not_after FROM trust_keys'),
    };
    conn.onReload(() => this.loadKeys());
  }

  issuerKey(kid: Uint8Array): TrustedIssuerKey | undefined {
    this.conn.refreshIfChangedElsewhere();
    return this.keys.get(toHex(kid));
  }
  isRevoked(cti: Uint8Array): boolean {
    return this.stmts.revoked.get(cti) !== undefined;
  }
  isSuspended(sub: string): boolean {
    return this.stmts.suspended.get(sub) !== undefined;
  }
  /** Replay keys consumed at other terminals (central's relay): one transaction, never replacing ours. */
  addFleetReplayKeys(keys: readonly { key: string; expiresAt: number }[]): void {
    this.conn.db.transaction(() => {
      for (const k of keys) this.stmts.fleetReplay.run(k.key, k.expiresAt);
    })();
  }

  hasSeen(replayKey: string): boolean {
    return this.stmts.seen.get(replayKey) !== undefined;
  }
  /**
   * Writes at once, on its own. The daemon does not use this: its pipeline verifies with recordReplay
   * off and records the replay key with the event, in the event's transaction (CommitEffects.replay).
   */
  markSeen(replayKey: string, expiresAt: number): void {
    this.stmts.insertReplay.run(replayKey, expiresAt);
  }
  /** Inside the event's transaction (SqliteStore.commitEvent). */
  recordReplay(key: string, expiresAt: number): void {
    this.stmts.insertReplay.run(key, expiresAt);
  }
  isVerifiedCredential(digest: string): boolean {
    if (this.verifiedMemo.has(digest)) return true;
    return this.stmts.verified.get(digest) !== undefined;
  }
  /** Kept in memory; written by flushVerified() between decisions (a cache never costs a decision an fsync). */
  rememberVerifiedCredential(digest: string, expiresAt: number): void {
    if (this.verifiedMemo.size > 4096) this.verifiedMemo.clear();
    this.verifiedMemo.set(digest, expiresAt);
    this.pendingVerified.push([digest, expiresAt]);
  }
  /** Writes the verified-credential entries remembered since the last flush, in one transaction. */
  flushVerified(): void {
    if (this.pendingVerified.length === 0) return;
    const pending = this.pendingVerified;
    this.pendingVerified = [];
    this.conn.db.transaction(() => {
      for (const [d, exp] of pending) this.stmts.insertVerified.run(d, exp);
    })();
  }

  /** The binding of a card hash: member, blocked flag, entitlements and expiry (unix s) from the cards list. */
  cardBinding(
    h: Uint8Array,
  ): { sub: string; blocked: boolean; ent: Entitlement[]; exp?: number } | undefined {
    const row = this.stmts.card.get(h) as
      { sub: string; blocked: number; ent: string; exp: number | null } | undefined;
    if (!row) return undefined;
    return {
      sub: row.sub,
      blocked: row.blocked !== 0,
      ent: JSON.parse(row.ent) as Entitlement[],
      ...(row.exp !== null ? { exp: row.exp } : {}),
    };
  }
  lastPassage(sub: string, gate: string): Passage | undefined {
    return this.stmts.passage.get(sub, gate) as Passage | undefined;
  }
  /** Inside the event's transaction (SqliteStore.commitEvent). */
  recordPassage(p: { sub: string; gate: string; direction: 'in' | 'out'; at: number }): void {
    this.stmts.upsertPassage.run(p.sub, p.gate, p.direction, p.at);
  }
  get occupancy(): number {
    return this.conn.meta('occupancy');
  }

  private loadKeys(): void {
    const rows = this.stmts.keys.all() as Array<{
      kid: Buffer;
      alg: Alg;
      public_key: Buffer;
      issuer: string;
      not_before: number | null;
      not_after: number | null;
    }>;
    this.keys = new Map();
    for (const r of rows) {
      const k: TrustedIssuerKey = {
        kid: new Uint8Array(r.kid),
        alg: r.alg,
        publicKey: new Uint8Array(r.public_key),
        issuer: r.issuer,
      };
      if (r.not_before !== null) k.notBefore = r.not_before;
      if (r.not_after !== null) k.notAfter = r.not_after;
      this.keys.set(toHex(k.kid), k);
    }
  }
  /** After a trust list changed trust_keys on this connection. */
  reloadKeys(): void {
    this.loadKeys();
  }
}
