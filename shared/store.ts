// What `verify` needs to know, as an interface: in memory here, SQLite on a terminal.
import { toHex } from './bytes.js';
import type { Alg } from './keys.js';
import { checkSequence, isDelta, type ListType, type SequenceCheck, type SignedList } from './lists.js';

export interface TrustedIssuerKey {
  kid: Uint8Array;
  alg: Alg;
  publicKey: Uint8Array;
  /** Issuer name the key signs for; a credential naming another iss is refused. */
  issuer: string;
  /** Unix seconds; the key is trusted only inside [notBefore, notAfter). */
  notBefore?: number;
  notAfter?: number;
}

export interface VerifierStore {
  issuerKey(kid: Uint8Array): TrustedIssuerKey | undefined;
  isRevoked(cti: Uint8Array): boolean;
  isSuspended(sub: string): boolean;
  /** Replay cache: has this presentation (cti, t, nonce) been seen before? */
  hasSeen(replayKey: string): boolean;
  markSeen(replayKey: string, expiresAt: number): void;
  /** Optional cache of credentials whose issuer signature already checked out (keyed by a digest of the bytes). */
  isVerifiedCredential?(digest: string): boolean;
  rememberVerifiedCredential?(digest: string, expiresAt: number): void;
}

/** The verifier's in-memory store: for the CLI's one-shot checks, tests and the wallet simulator. */
export class MemoryStore implements VerifierStore {
  readonly keys = new Map<string, TrustedIssuerKey>();
  readonly revoked = new Set<string>();
  readonly suspended = new Set<string>();
  readonly seen = new Map<string, number>();
  readonly verified = new Map<string, number>();

  issuerKey(kid: Uint8Array): TrustedIssuerKey | undefined {
    return this.keys.get(toHex(kid));
  }
  isRevoked(cti: Uint8Array): boolean {
    return this.revoked.has(toHex(cti));
  }
  isSuspended(sub: string): boolean {
    return this.suspended.has(sub);
  }
  hasSeen(replayKey: string): boolean {
    return this.seen.has(replayKey);
  }
  markSeen(replayKey: string, expiresAt: number): void {
    this.seen.set(replayKey, expiresAt);
  }
  isVerifiedCredential(digest: string): boolean {
    return this.verified.has(digest);
  }
  rememberVerifiedCredential(digest: string, expiresAt: number): void {
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(digest, expiresAt);
  }
  readonly listVersions = new Map<ListType, number>();

  /** Applies a verified list with anti-rollback; throws ListError on a rollback or a gap. */
  applyList(list: SignedList): SequenceCheck {
    const check = checkSequence(this.listVersions.get(list.type), list);
    if (check === 'already_applied') return check;
    if (list.type === 'trust') {
      if (isDelta(list)) {
        for (const kid of list.delta.remove) this.keys.delete(toHex(kid));
        for (const k of list.delta.add) this.addKey(k);
      } else {
        this.keys.clear();
        for (const k of list.snapshot.keys) this.addKey(k);
      }
    } else if (list.type === 'revocation') {
      if (isDelta(list)) {
        for (const s of list.delta.removeSerials) this.revoked.delete(toHex(s));
        for (const s of list.delta.addSerials) this.revoked.add(toHex(s));
        for (const s of list.delta.removeSubjects) this.suspended.delete(s);
        for (const s of list.delta.addSubjects) this.suspended.add(s);
      } else {
        this.revoked.clear();
        this.suspended.clear();
        for (const s of list.snapshot.serials) this.revoked.add(toHex(s));
        for (const s of list.snapshot.subjects) this.suspended.add(s);
      }
    }
    this.listVersions.set(list.type, list.version);
    return check;
  }

  addKey(key: TrustedIssuerKey): void {
    this.keys.set(toHex(key.kid), key);
  }
  /** Drops replay entries whose window has passed. */
  prune(now: number): void {
    for (const [k, exp] of this.seen) if (exp < now) this.seen.delete(k);
  }
}
