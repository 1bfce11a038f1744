// The terminal's SQLite store (the only file that imports better-sqlite3). WAL with synchronous=FULL:
// a committed event survives power loss. Backs the token core's VerifierStore, the signed lists, the
// policy state (passages, occupancy), the clock state and the outbox with its per-terminal seq.
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { encodeCbor, decodeCbor, isMap } from '../../shared/cbor.js';
import type { TerminalEvent } from '../../shared/events.js';
import type { Alg } from '../../shared/keys.js';
import {
  checkSequence,
  isDelta,
  LIST_LIMITS,
  type ListType,
  type MapListType,
  type SequenceCheck,
  type SignedList,
} from '../../shared/lists.js';
import type { TrustedIssuerKey, VerifierStore } from '../../shared/store.js';
import { toHex } from '../../shared/bytes.js';
import { readCardDelta, readCardSnapshot } from '../cards.js';
import { damagedSiblings } from './damaged-files.js';
import { applyItems, applyMembers } from './library-lists.js';
import { MIGRATIONS } from './migrations.js';

type Db = Database.Database;

/** The database file is damaged or is not a database: run `passgate terminal recover`. */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
}
/** The disk (or the configured page limit) is full: nothing more can be recorded. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

export interface ListVersionInfo {
  version: number;
  /** Unix seconds, from the signed list. */
  issuedAt: number;
  /** Unix ms, terminal clock, when applied. */
  appliedAt: number;
}

export interface ClockRecord {
  lastGoodMs: number;
  lastEventAt: number;
  beaconSeq: number;
  beaconT: number;
  beaconLocal: number;
}

export interface Passage {
  direction: 'in' | 'out';
  /** Unix ms. */
  at: number;
}

/** What a decision changes besides the outbox, committed in the same transaction as its event. */
export interface CommitEffects {
  replay?: { key: string; expiresAt: number };
  passage?: { sub: string; gate: string; direction: 'in' | 'out'; at: number };
  occupancyDelta?: number;
  /** Repository writes that belong to this decision (e.g. the kiosk's loans), run inside the same transaction. */
  write?: (seq: number) => void;
}

export const META_KEYS = [
  'last_seq',
  'acked_seq',
  'occupancy',
  'last_event_at',
  'last_good_ms',
  'beacon_seq',
  'beacon_t',
  'beacon_local',
];

function isFull(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR');
}
function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB';
}

const RECOVER_HINT =
  'run `passgate terminal recover --config FILE` (it keeps the outbox and rebuilds the caches)';

export class SqliteStore implements VerifierStore {
  private db: Db | undefined;
  private stmts!: ReturnType<SqliteStore['prepare']>;
  private keys = new Map<string, TrustedIssuerKey>();
  private meta = new Map<string, number>();
  private dataVersion = -1;
  private verifiedMemo = new Map<string, number>();
  private pendingVerified: Array<[string, number]> = [];
  private pendingReplay: Array<[string, number]> = [];

  constructor(readonly path: string) {}

  /**
   * Opens (creating when missing), checks with PRAGMA quick_check and migrates. Refuses to create a new
   * database next to a `.damaged-*` file: that is an unfinished recovery, and a fresh database would
   * restart the seq at 1 (central would take the new events for duplicates and drop them).
   */
  open(options: { quickCheck?: boolean } = {}): void {
    mkdirSync(dirname(this.path), { recursive: true });
    if (!existsSync(this.path)) {
      const damaged = damagedSiblings(this.path);
      if (damaged.length > 0)
        throw new StoreCorruptError(
          `a damaged database from an unfinished recovery (${damaged[0]}) is next to ${this.path}: ` +
            'run `passgate terminal recover --config FILE` again, or move the .damaged-* file away if you ' +
            `are sure (a new ${basename(this.path)} restarts the event seq at 1)`,
        );
    }
    let db: Db;
    try {
      db = new Database(this.path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 2000');
      // Checkpoints run between decisions (checkpoint()), not inside a commit: keeps the tail latency low.
      db.pragma('wal_autocheckpoint = 0');
      db.pragma(`journal_size_limit = ${32 * 1024 * 1024}`);
      if (options.quickCheck ?? true) {
        const rows = db.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>;
        const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
        if (problems.length > 0) {
          db.close();
          throw new StoreCorruptError(
            `${this.path} failed PRAGMA quick_check (${problems.slice(0, 3).join('; ')}): ${RECOVER_HINT}`,
          );
        }
      }
    } catch (err) {
      if (err instanceof StoreCorruptError) throw err;
      if (isCorrupt(err))
        throw new StoreCorruptError(
          `${this.path} is damaged or not a database (${(err as Error).message}): ${RECOVER_HINT}`,
        );
      throw err;
    }
    this.db = db;
    migrate(db);
    this.stmts = this.prepare(db);
    this.loadCaches(db);
  }

  /** In-memory copies of small tables (meta counters, trust keys), reloaded when another process writes. */
  private loadCaches(db: Db): void {
    for (const row of db.prepare('SELECT key, value FROM meta').all() as Array<{
      key: string;
      value: number;
    }>)
      this.meta.set(row.key, row.value);
    for (const k of META_KEYS) if (!this.meta.has(k)) this.meta.set(k, 0);
    this.loadKeys();
    this.dataVersion = db.pragma('data_version', { simple: true }) as number;
  }

  /**
   * PRAGMA data_version changes only when another connection commits (e.g. `passgate terminal load-lists`
   * or `recover` while the daemon runs): then the cached trust keys and counters are stale, so reload them.
   * A trust key removed elsewhere must stop verifying at once, not at the next restart.
   */
  /** Reloads the in-memory caches (meta counters, trust keys) from disk now (central's `reload`). */
  reloadCaches(): void {
    this.loadCaches(this.conn);
  }

  private refreshIfChangedElsewhere(): void {
    const db = this.conn;
    if ((db.pragma('data_version', { simple: true }) as number) !== this.dataVersion) this.loadCaches(db);
  }

  private prepare(db: Db) {
    return {
      revoked: db.prepare('SELECT 1 FROM revoked_serials WHERE serial = ?').pluck(),
      suspended: db.prepare('SELECT 1 FROM suspended_subjects WHERE sub = ?').pluck(),
      seen: db.prepare('SELECT 1 FROM replay_cache WHERE key = ?').pluck(),
      verified: db.prepare('SELECT expires_at FROM verified_credentials WHERE digest = ?').pluck(),
      insertReplay: db.prepare('INSERT OR REPLACE INTO replay_cache (key, expires_at) VALUES (?, ?)'),
      insertVerified: db.prepare(
        'INSERT OR REPLACE INTO verified_credentials (digest, expires_at) VALUES (?, ?)',
      ),
      card: db.prepare('SELECT sub, blocked FROM card_bindings WHERE h = ?'),
      passage: db.prepare('SELECT direction, at FROM passages WHERE sub = ? AND gate = ?'),
      upsertPassage: db.prepare(
        'INSERT OR REPLACE INTO passages (sub, gate, direction, at) VALUES (?, ?, ?, ?)',
      ),
      nextSeq: db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'last_seq' RETURNING value").pluck(),
      setMeta: db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
      insertEvent: db.prepare('INSERT INTO outbox (seq, kind, at, body) VALUES (?, ?, ?, ?)'),
      pending: db.prepare('SELECT body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').pluck(),
      deleteAcked: db.prepare('DELETE FROM outbox WHERE seq <= ?'),
      versions: db.prepare('SELECT type, version, issued_at, applied_at FROM list_versions'),
      setVersion: db.prepare(
        'INSERT OR REPLACE INTO list_versions (type, version, issued_at, applied_at) VALUES (?, ?, ?, ?)',
      ),
      pruneReplay: db.prepare('DELETE FROM replay_cache WHERE expires_at < ?'),
      pruneVerified: db.prepare('DELETE FROM verified_credentials WHERE expires_at < ?'),
      prunePassages: db.prepare('DELETE FROM passages WHERE at < ?'),
    };
  }

  /** The one connection, for repositories that keep their own tables in this database (terminal/kiosk/). */
  get connection(): Db {
    return this.conn;
  }

  private get conn(): Db {
    if (!this.db) throw new Error('store is not open');
    return this.db;
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  close(): void {
    if (!this.db) return;
    try {
      this.checkpoint();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A checkpoint is an optimisation; the WAL is replayed on the next open.
    }
    this.db.close();
    this.db = undefined;
  }

  // ---- VerifierStore -------------------------------------------------------------------------
  issuerKey(kid: Uint8Array): TrustedIssuerKey | undefined {
    this.refreshIfChangedElsewhere();
    return this.keys.get(toHex(kid));
  }
  isRevoked(cti: Uint8Array): boolean {
    return this.stmts.revoked.get(cti) !== undefined;
  }
  isSuspended(sub: string): boolean {
    return this.stmts.suspended.get(sub) !== undefined;
  }
  hasSeen(replayKey: string): boolean {
    return this.pendingReplay.some(([k]) => k === replayKey) || this.stmts.seen.get(replayKey) !== undefined;
  }
  /** Queued and written with the next committed event (the terminal records replay keys with events). */
  markSeen(replayKey: string, expiresAt: number): void {
    this.pendingReplay.push([replayKey, expiresAt]);
  }
  isVerifiedCredential(digest: string): boolean {
    if (this.verifiedMemo.has(digest)) return true;
    return this.stmts.verified.get(digest) !== undefined;
  }
  /** Kept in memory; written to disk by checkpoint(), between decisions (a cache never costs a decision an fsync). */
  rememberVerifiedCredential(digest: string, expiresAt: number): void {
    if (this.verifiedMemo.size > 4096) this.verifiedMemo.clear();
    this.verifiedMemo.set(digest, expiresAt);
    this.pendingVerified.push([digest, expiresAt]);
  }

  // ---- Policy state --------------------------------------------------------------------------
  cardBinding(h: Uint8Array): { sub: string; blocked: boolean } | undefined {
    const row = this.stmts.card.get(h) as { sub: string; blocked: number } | undefined;
    return row ? { sub: row.sub, blocked: row.blocked !== 0 } : undefined;
  }
  lastPassage(sub: string, gate: string): Passage | undefined {
    return this.stmts.passage.get(sub, gate) as Passage | undefined;
  }
  get occupancy(): number {
    return this.meta.get('occupancy')!;
  }

  // ---- Outbox ----------------------------------------------------------------------------------
  get lastSeq(): number {
    return this.meta.get('last_seq')!;
  }
  get ackedSeq(): number {
    return this.meta.get('acked_seq')!;
  }
  get outboxDepth(): number {
    return this.lastSeq - this.ackedSeq;
  }

  /**
   * Commits one event with its effects in a single durable transaction and returns it with its seq.
   * The seq comes from a counter row, so it is contiguous and never reused even after acked events
   * leave the outbox. Throws StorageFullError when the disk is full; nothing is then recorded.
   */
  commitEvent(event: Omit<TerminalEvent, 'seq'>, effects: CommitEffects = {}): TerminalEvent {
    const db = this.conn;
    const s = this.stmts;
    const tx = db.transaction((): TerminalEvent => {
      const seq = s.nextSeq.get() as number;
      const full: TerminalEvent = { seq, ...event };
      s.insertEvent.run(seq, full.kind, full.at, JSON.stringify(full));
      s.setMeta.run(Math.max(this.meta.get('last_event_at')!, full.at), 'last_event_at');
      s.setMeta.run(Math.max(this.meta.get('last_good_ms')!, full.at), 'last_good_ms');
      if (effects.replay) s.insertReplay.run(effects.replay.key, effects.replay.expiresAt);
      for (const [k, exp] of this.pendingReplay) s.insertReplay.run(k, exp);
      if (effects.passage) {
        const p = effects.passage;
        s.upsertPassage.run(p.sub, p.gate, p.direction, p.at);
      }
      if (effects.occupancyDelta)
        s.setMeta.run(Math.max(0, this.meta.get('occupancy')! + effects.occupancyDelta), 'occupancy');
      effects.write?.(seq);
      return full;
    });
    let committed: TerminalEvent;
    try {
      committed = tx.immediate();
    } catch (err) {
      if (isFull(err)) throw new StorageFullError(`cannot record the event: ${(err as Error).message}`);
      throw err;
    }
    this.pendingReplay = [];
    this.meta.set('last_seq', committed.seq);
    this.meta.set('last_event_at', Math.max(this.meta.get('last_event_at')!, committed.at));
    this.meta.set('last_good_ms', Math.max(this.meta.get('last_good_ms')!, committed.at));
    if (effects.occupancyDelta)
      this.meta.set('occupancy', Math.max(0, this.occupancy + effects.occupancyDelta));
    return committed;
  }

  pendingEvents(afterSeq: number, limit: number): TerminalEvent[] {
    return (this.stmts.pending.all(Math.max(afterSeq, this.ackedSeq), limit) as string[]).map(
      (b) => JSON.parse(b) as TerminalEvent,
    );
  }

  /** Central committed everything up to seq: those events leave the outbox. Idempotent; never past lastSeq. */
  acknowledge(seq: number): void {
    const upTo = Math.min(Math.floor(seq), this.lastSeq);
    if (!(upTo > this.ackedSeq)) return;
    this.conn.transaction(() => {
      this.stmts.deleteAcked.run(upTo);
      this.stmts.setMeta.run(upTo, 'acked_seq');
    })();
    this.meta.set('acked_seq', upTo);
  }

  // ---- Clock -----------------------------------------------------------------------------------
  clockRecord(): ClockRecord {
    return {
      lastGoodMs: this.meta.get('last_good_ms')!,
      lastEventAt: this.meta.get('last_event_at')!,
      beaconSeq: this.meta.get('beacon_seq')!,
      beaconT: this.meta.get('beacon_t')!,
      beaconLocal: this.meta.get('beacon_local')!,
    };
  }

  saveClock(update: Partial<ClockRecord>): void {
    const names: Record<keyof ClockRecord, string> = {
      lastGoodMs: 'last_good_ms',
      lastEventAt: 'last_event_at',
      beaconSeq: 'beacon_seq',
      beaconT: 'beacon_t',
      beaconLocal: 'beacon_local',
    };
    this.conn.transaction(() => {
      for (const [k, v] of Object.entries(update) as Array<[keyof ClockRecord, number]>) {
        this.stmts.setMeta.run(v, names[k]);
        this.meta.set(names[k], v);
      }
    })();
  }

  // ---- Lists -----------------------------------------------------------------------------------
  listVersions(): Partial<Record<ListType, ListVersionInfo>> {
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
  applyList(list: SignedList, appliedAtMs: number): SequenceCheck {
    const db = this.conn;
    let check: SequenceCheck = 'apply';
    // The version check runs inside the write transaction: another process (load-lists) cannot slip an
    // older list in between the check and the write.
    const tx = db.transaction(() => {
      check = checkSequence(this.listVersions()[list.type]?.version, list);
      if (check === 'already_applied') {
        // Central re-signs an unchanged list periodically: a fresh issued_at proves the list is still
        // current, so its age (and the staleness policy) counts from there.
        db.prepare(
          'UPDATE list_versions SET issued_at = max(issued_at, ?) WHERE type = ? AND version = ?',
        ).run(list.issuedAt, list.type, list.version);
        return;
      }
      if (list.type === 'trust') applyTrust(db, list);
      else if (list.type === 'revocation') applyRevocation(db, list);
      else if (list.type === 'cards') applyCards(db, list);
      else if (list.type === 'items') applyItems(db, list);
      else if (list.type === 'members') applyMembers(db, list, this.ackedSeq);
      else applyPolicy(db, list);
      this.stmts.setVersion.run(list.type, list.version, list.issuedAt, appliedAtMs);
    });
    try {
      tx.immediate();
    } catch (err) {
      if (isFull(err))
        throw new StorageFullError(`cannot apply the ${list.type} list: ${(err as Error).message}`);
      throw err;
    }
    if (list.type === 'trust' && check === 'apply') this.loadKeys();
    return check;
  }

  private loadKeys(): void {
    const rows = this.conn
      .prepare('SELECT kid, alg, public_key, issuer, not_before, not_after FROM trust_keys')
      .all() as Array<{
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

  /** Number of rows in a list table, for status and the bench. */
  count(
    table: 'revoked_serials' | 'suspended_subjects' | 'card_bindings' | 'trust_keys' | 'replay_cache',
  ): number {
    return this.conn.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  }

  /** Drops replay entries, verified-credential entries and passages that no longer matter. */
  prune(nowSeconds: number, passagesOlderThanMs: number): number {
    return this.conn.transaction(() => {
      let n = this.stmts.pruneReplay.run(nowSeconds).changes;
      n += this.stmts.pruneVerified.run(nowSeconds).changes;
      n += this.stmts.prunePassages.run(passagesOlderThanMs).changes;
      return n;
    })();
  }

  /**
   * Between decisions: writes the verified-credential cache and moves the WAL into the database file.
   * Autocheckpoint is off so this never lands inside a decision's commit.
   */
  checkpoint(): void {
    const db = this.conn;
    if (this.pendingVerified.length > 0) {
      const pending = this.pendingVerified;
      this.pendingVerified = [];
      db.transaction(() => {
        for (const [d, exp] of pending) this.stmts.insertVerified.run(d, exp);
      })();
    }
    db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** PRAGMA integrity_check: 'ok' or the first problems found. */
  integrityCheck(): string {
    const rows = this.conn.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  }

  /** Caps the file at its current size plus `extraPages` (tests and drills: simulates a full disk). */
  limitGrowth(extraPages: number): void {
    const pages = this.conn.pragma('page_count', { simple: true }) as number;
    this.conn.pragma(`max_page_count = ${pages + extraPages}`);
  }
}

/** Brings a database to the current schema (PRAGMA user_version); used by open() and recoverStore(). */
export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length)
    throw new StoreCorruptError(
      `database schema version ${current} is newer than this passgate (${MIGRATIONS.length}); upgrade passgate`,
    );
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
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
  const upsert = db.prepare('INSERT OR REPLACE INTO card_bindings (h, sub, blocked) VALUES (?, ?, ?)');
  if (isDelta(list)) {
    const delta = readCardDelta(list.delta);
    const del = db.prepare('DELETE FROM card_bindings WHERE h = ?');
    for (const h of delta.remove) del.run(h);
    for (const b of delta.upsert) upsert.run(b.h, b.sub, b.blocked ? 1 : 0);
  } else {
    const snapshot = readCardSnapshot(list.snapshot);
    db.exec('DELETE FROM card_bindings');
    for (const b of snapshot.bindings) upsert.run(b.h, b.sub, b.blocked ? 1 : 0);
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
