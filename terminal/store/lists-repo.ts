// The signed lists held by the terminal: trust keys, revocations, card bindings and policy bodies, with
// the version of each (anti-rollback is checked inside the write transaction).
import { encodeCbor, decodeCbor, isMap } from '../../shared/cbor.js';
import {
  checkSequence,
  isDelta,
  LIST_LIMITS,
  type ListType,
  type MapListType,
  type SequenceCheck,
  type SignedList,
} from '../../shared/lists.js';
import type { TrustedIssuerKey } from '../../shared/store.js';
import { readCardDelta, readCardSnapshot, type CardBinding } from '../../shared/cards.js';
import { asStorageError, type Connection, type Db } from './db.js';
import { applyItems, applyMembers } from './library-lists.js';

export interface ListVersionInfo {
  version: number;
  /** Unix seconds, from the signed list. */
  issuedAt: number;
  /** Unix ms, terminal clock, when applied. */
  appliedAt: number;
}

export type ListTable =
  'revoked_serials' | 'suspended_subjects' | 'card_bindings' | 'trust_keys' | 'replay_cache';

export class ListsRepo {
  private readonly stmts;

  constructor(
    private readonly conn: Connection,
    /** Called after a trust list changed trust_keys (the verifier's key cache reloads). */
    private readonly onTrustApplied: () => void,
  ) {
    const db = conn.db;
    this.stmts = {
      versions: db.prepare('SELECT type, version, issued_at, applied_at FROM list_versions'),
      setVersion: db.prepare(
        'INSERT OR REPLACE INTO list_versions (type, version, issued_at, applied_at) VALUES (?, ?, ?, ?)',
      ),
      refreshIssuedAt: db.prepare(
        'UPDATE list_versions SET issued_at = max(issued_at, ?) WHERE type = ? AND version = ?',
      ),
    };
  }

  versions(): Partial<Record<ListType, ListVersionInfo>> {
    const out: Partial<Record<ListType, ListVersionInfo>> = {};
    for (const r of this.stmts.versions.all() as Array<{
      type: ListType;
      version: number;
      issued_at: number;
      applied_at: number;
    }>)
      out[r.type] = { version: r.version, issuedAt: r.issued_at, appliedAt: r.applied_at };
    return out;
  }

  /**
   * Applies a verified signed list atomically (anti-rollback via checkSequence; throws ListError on a
   * rollback, a gap or a malformed body). A redelivered version is 'already_applied' and changes nothing.
   */
  apply(list: SignedList, appliedAtMs: number): SequenceCheck {
    const db = this.conn.db;
    let check: SequenceCheck = 'apply';
    // The version check runs inside the write transaction: another process (load-lists) cannot slip an
    // older list in between the check and the write.
    const tx = db.transaction(() => {
      check = checkSequence(this.versions()[list.type]?.version, list);
      if (check === 'already_applied') {
        // Central re-signs an unchanged list periodically: a fresh issued_at proves the list is still
        // current, so its age (and the staleness policy) counts from there.
        this.stmts.refreshIssuedAt.run(list.issuedAt, list.type, list.version);
        return;
      }
      if (list.type === 'trust') applyTrust(db, list);
      else if (list.type === 'revocation') applyRevocation(db, list);
      else if (list.type === 'cards') applyCards(db, list);
      else if (list.type === 'items') applyItems(db, list);
      else if (list.type === 'members') applyMembers(db, list, this.conn.meta('acked_seq'));
      else applyPolicy(db, list);
      this.stmts.setVersion.run(list.type, list.version, list.issuedAt, appliedAtMs);
    });
    try {
      tx.immediate();
    } catch (err) {
      throw asStorageError(err, `cannot apply the ${list.type} list`);
    }
    if (list.type === 'trust' && check === 'apply') this.onTrustApplied();
    return check;
  }

  /** Number of rows in a list table, for status and the bench. */
  count(table: ListTable): number {
    return this.conn.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  }
}

function applyTrust(db: Db, list: Extract<SignedList, { type: 'trust' }>): void {
  const insert = db.prepare(
    'INSERT OR REPLACE INTO trust_keys (kid, alg, public_key, issuer, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const add = (k: TrustedIssuerKey) =>
    insert.run(k.kid, k.alg, k.publicKey, k.issuer, k.notBefore ?? null, k.notAfter ?? null);
  if (isDelta(list)) {
    const del = db.prepare('DELETE FROM trust_keys WHERE kid = ?');
    for (const kid of list.delta.remove) del.run(kid);
    list.delta.add.forEach(add);
  } else {
    db.exec('DELETE FROM trust_keys');
    list.snapshot.keys.forEach(add);
  }
}

function applyRevocation(db: Db, list: Extract<SignedList, { type: 'revocation' }>): void {
  const addSerial = db.prepare('INSERT OR IGNORE INTO revoked_serials (serial) VALUES (?)');
  const addSubject = db.prepare('INSERT OR IGNORE INTO suspended_subjects (sub) VALUES (?)');
  if (isDelta(list)) {
    const delSerial = db.prepare('DELETE FROM revoked_serials WHERE serial = ?');
    const delSubject = db.prepare('DELETE FROM suspended_subjects WHERE sub = ?');
    for (const s of list.delta.removeSerials) delSerial.run(s);
    for (const s of list.delta.addSerials) addSerial.run(s);
    for (const s of list.delta.removeSubjects) delSubject.run(s);
    for (const s of list.delta.addSubjects) addSubject.run(s);
  } else {
    db.exec('DELETE FROM revoked_serials; DELETE FROM suspended_subjects');
    for (const s of list.snapshot.serials) addSerial.run(s);
    for (const s of list.snapshot.subjects) addSubject.run(s);
  }
}

function applyCards(db: Db, list: Extract<SignedList, { type: MapListType }>): void {
  const stmt = db.prepare(
    'INSERT OR REPLACE INTO card_bindings (h, sub, blocked, ent, exp) VALUES (?, ?, ?, ?, ?)',
  );
  const upsert = {
    run: (b: CardBinding) => stmt.run(b.h, b.sub, b.blocked ? 1 : 0, JSON.stringify(b.ent), b.exp ?? null),
  };
  if (isDelta(list)) {
    const delta = readCardDelta(list.delta);
    const del = db.prepare('DELETE FROM card_bindings WHERE h = ?');
    for (const h of delta.remove) del.run(h);
    for (const b of delta.upsert) upsert.run(b);
  } else {
    const snapshot = readCardSnapshot(list.snapshot);
    db.exec('DELETE FROM card_bindings');
    for (const b of snapshot.bindings) upsert.run(b);
  }
}

/** Library policy and item flags: kept as one CBOR map; a delta overrides the keys it names. */
function applyPolicy(db: Db, list: Extract<SignedList, { type: MapListType }>): void {
  let body: Map<string, unknown>;
  if (isDelta(list)) {
    const row = db.prepare('SELECT body FROM policies WHERE name = ?').pluck().get(list.type) as
      Buffer | undefined;
    const held = row ? decodeCbor(new Uint8Array(row), LIST_LIMITS) : new Map();
    body = isMap(held) ? (held as Map<string, unknown>) : new Map();
    for (const [k, v] of list.delta) body.set(k, v);
  } else body = list.snapshot;
  db.prepare('INSERT OR REPLACE INTO policies (name, body) VALUES (?, ?)').run(list.type, encodeCbor(body));
}
