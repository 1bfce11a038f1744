// `passgate terminal recover`: rebuilds a damaged terminal.db. The outbox and the meta row (seq counter,
// clock, occupancy) are the terminal's only copy of its history; everything else is a cache that central
// or load-lists refills. The order of the steps is what keeps the seq safe:
//   1. move terminal.db (and its -wal/-shm) aside as terminal.db.damaged-<time>, never deleting it;
//   2. read what can be read from it;
//   3. build the new database as terminal.db.recovering;
//   4. only when that succeeded, rename it to terminal.db.
// If anything fails between 1 and 4 there is no terminal.db, and SqliteStore.open() refuses to create one
// while a .damaged-* file is next to it (a fresh database would restart the seq at 1 and central would
// drop the new events as duplicates). Running recover again continues from the newest .damaged-* file.
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { makePrivate, withPrivateUmask } from '../../shared/private-files.js';
import { encodeEvent, readEvent, type TerminalEvent } from '../../shared/events.js';
import { damagedDatabases, damagedName, recoveringName } from './damaged-files.js';
import { META_KEYS, migrate, StoreCorruptError } from './db.js';
import { salvagePages } from './page-salvage.js';

type Db = Database.Database;

export interface RecoveryReport {
  /** The damaged database that was read (moved aside now, or by an earlier unfinished recovery). */
  movedTo: string;
  /** terminal.db was missing: an earlier recovery had not finished, and this one continued it. */
  resumed: boolean;
  /** Outbox events copied as they were. */
  keptEvents: number;
  lastSeq: number;
  ackedSeq: number;
  /** Seqs after ackedSeq whose outbox rows could not be read, or were not valid events any more. */
  lostEventRows: number;
  /** `record_lost` events written in their place, so the run of seqs sent to central has no holes. */
  markers: number;
  /**
   * The meta row could not be read: lastSeq is the highest seq found anywhere and may be too low, so the
   * outbox is held (nothing sent) until central's signed ack says where central stands.
   */
  seqCounterLost: boolean;
  /** Rows read from the raw pages because SQLite could not return them (damaged header or b-tree). */
  pagesSalvaged: number;
  /** PRAGMA integrity_check of the new database: always 'ok' (recovery throws otherwise). */
  integrity: string;
}

export interface RecoverOptions {
  /** Test hook: runs after the new database is built and closed, before it replaces terminal.db. */
  beforeReplace?: () => void;
}

type OutboxRow = { seq: number; kind: string; at: number; body: string };

interface Salvage {
  /** seq → outbox row, valid events only. */
  events: Map<number, OutboxRow>;
  meta: Map<string, number>;
  passages: Array<{ sub: string; gate: string; direction: string; at: number }>;
  /** Seqs in (acked_seq, last_seq] with no valid row. */
  lost: number[];
  lastSeq: number;
  ackedSeq: number;
  lastEventAt: number;
  seqCounterLost: boolean;
  /** Rows found by reading the raw pages (page-salvage.ts) that SQLite could not return. */
  pagesSalvaged: number;
}

/**
 * Rebuilds terminal.db (see the file comment for the order of the steps). Keeps every readable outbox
 * event, fills unreadable seqs after the acked one with `record_lost` markers, keeps the meta row and the
 * passages it can read; drops the caches (lists, replay, verified credentials: reload the lists next).
 */
export function recoverStore(path: string, options: RecoverOptions = {}): RecoveryReport {
  let source: string;
  let resumed = false;
  if (existsSync(path)) {
    source = damagedName(path);
    for (let n = 1; existsSync(source); n++) source = `${damagedName(path)}-${n}`;
    // -wal first: a crash between the renames must never leave terminal.db beside someone else's WAL.
    for (const suffix of ['-wal', '-shm', ''])
      if (existsSync(path + suffix)) renameSync(path + suffix, source + suffix);
    syncDir(path);
  } else {
    const earlier = damagedDatabases(path).at(-1);
    if (earlier === undefined) throw new Error(`${path} does not exist: nothing to recover`);
    source = earlier;
    resumed = true;
  }

  const salvage = readDamaged(source);
  const building = recoveringName(path);
  removeDatabaseFiles(building);
  const markers = buildDatabase(building, salvage);
  const integrity = checkIntegrity(building);
  if (integrity !== 'ok')
    throw new StoreCorruptError(
      `the rebuilt database ${building} failed integrity_check (${integrity}): the storage may be failing; ` +
        'replace it, then run `passgate terminal recover --config FILE` again',
    );
  options.beforeReplace?.();
  // Stray -wal/-shm next to the missing terminal.db would be replayed into the new file: keep them aside.
  for (const suffix of ['-wal', '-shm'])
    if (existsSync(path + suffix)) renameSync(path + suffix, `${source}.stray${suffix}`);
  renameSync(building, path);
  syncDir(path);
  return {
    movedTo: source,
    resumed,
    keptEvents: salvage.events.size,
    lastSeq: salvage.lastSeq,
    ackedSeq: salvage.ackedSeq,
    lostEventRows: salvage.lost.length,
    markers,
    seqCounterLost: salvage.seqCounterLost,
    pagesSalvaged: salvage.pagesSalvaged,
    integrity,
  };
}

/** Reads what it can; a file that is not a database at all yields nothing (and seqCounterLost). */
function readDamaged(file: string): Salvage {
  const events: Salvage['events'] = new Map();
  const meta = new Map<string, number>();
  const passages: Salvage['passages'] = [];
  const lost: number[] = [];
  let old: Db | undefined;
  try {
    old = new Database(file, { fileMustExist: true });
    readRows(old, 'SELECT key, value FROM meta', (r: { key: string; value: number }) =>
      meta.set(r.key, r.value),
    );
    readRows(old, 'SELECT seq, kind, at, body FROM outbox ORDER BY seq', (r: OutboxRow) =>
      events.set(r.seq, r),
    );
    // A damaged b-tree may stop a scan part way: probe seq by seq for what the scan did not reach.
    const probe = old.prepare('SELECT seq, kind, at, body FROM outbox WHERE seq = ?');
    const last = highestSeq(meta, events);
    for (let seq = (meta.get('acked_seq') ?? 0) + 1; seq <= last; seq++) {
      if (events.has(seq)) continue;
      try {
        const r = probe.get(seq) as OutboxRow | undefined;
        if (r) events.set(seq, r);
      } catch {
        // unreadable: becomes a record_lost marker below
      }
    }
    readRows(old, 'SELECT sub, gate, direction, at FROM passages', (r: Salvage['passages'][number]) =>
      passages.push(r),
    );
  } catch {
    // Not a database at all: nothing readable.
  } finally {
    try {
      old?.close();
    } catch {
      // already unusable
    }
  }

  // A row whose body central would refuse stalls the sync as surely as a missing one: treat it as lost.
  for (const [seq, row] of events) if (!isValidEvent(seq, row)) events.delete(seq);
  const seqCounterLost = !meta.has('last_seq');
  // SQLite could not give us the counter (or any row): read the raw pages, row by row.
  let rawLastSeq = 0;
  let pagesSalvaged = 0;
  if (seqCounterLost || events.size === 0) {
    try {
      const raw = salvagePages(file, META_KEYS);
      for (const [seq, row] of raw.rows)
        if (!events.has(seq)) {
          events.set(seq, row);
          pagesSalvaged++;
        }
      rawLastSeq = raw.meta.get('last_seq') ?? 0;
    } catch {
      // unreadable file: nothing more to find
    }
  }
  // The highest seq anywhere: readable rows, the counter, and a counter found in a raw page.
  const lastSeq = Math.max(highestSeq(meta, events), rawLastSeq);
  const ackedSeq = Math.min(meta.get('acked_seq') ?? 0, lastSeq);
  for (let seq = ackedSeq + 1; seq <= lastSeq; seq++) if (!events.has(seq)) lost.push(seq);
  let lastEventAt = meta.get('last_event_at') ?? 0;
  for (const e of events.values()) if (e.at > lastEventAt) lastEventAt = e.at;
  return {
    events,
    meta,
    passages,
    lost,
    lastSeq,
    ackedSeq,
    lastEventAt,
    seqCounterLost,
    pagesSalvaged,
  };
}

/** Loops, not Math.max(...keys): spreading 125k+ arguments overflows the call stack. */
function highestSeq(meta: Map<string, number>, events: Map<number, unknown>): number {
  let last = Math.max(meta.get('last_seq') ?? 0, 0);
  for (const seq of events.keys()) if (seq > last) last = seq;
  return last;
}

/** The same check central's openBatch applies to each event, plus the body's seq matching its row. */
function isValidEvent(seq: number, row: OutboxRow): boolean {
  try {
    const e = readEvent(encodeEvent(JSON.parse(row.body) as TerminalEvent));
    return typeof e !== 'string' && e.seq === seq && typeof row.at === 'number';
  } catch {
    return false;
  }
}

/** Writes the new database (rollback journal, so a clean close leaves no -wal/-shm); returns the markers. */
function buildDatabase(file: string, s: Salvage): number {
  const db = withPrivateUmask(() => new Database(file));
  makePrivate(file);
  try {
    db.pragma('synchronous = FULL');
    migrate(db);
    db.transaction(() => {
      const ins = db.prepare('INSERT INTO outbox (seq, kind, at, body) VALUES (?, ?, ?, ?)');
      for (const [seq, e] of s.events) ins.run(seq, e.kind, e.at, e.body);
      // Same shape as commitEvent: the body is the whole event with its seq.
      for (const seq of s.lost) {
        const marker: TerminalEvent = {
          seq,
          kind: 'record_lost',
          at: s.lastEventAt,
          data: { recovered: true },
        };
        ins.run(seq, marker.kind, marker.at, JSON.stringify(marker));
      }
      const setMeta = db.prepare('UPDATE meta SET value = ? WHERE key = ?');
      for (const k of META_KEYS) {
        const v = s.meta.get(k);
        if (v !== undefined) setMeta.run(v, k);
      }
      setMeta.run(s.lastSeq, 'last_seq');
      setMeta.run(s.ackedSeq, 'acked_seq');
      setMeta.run(s.lastEventAt, 'last_event_at');
      setMeta.run(Math.max(s.lastEventAt, s.meta.get('last_good_ms') ?? 0), 'last_good_ms');
      // Without the counter, lastSeq is only the highest seq found here; central may hold more. Hold the
      // outbox until central's ack says where it stands (OutboxRepo.release renumbers what came after).
      setMeta.run(s.seqCounterLost ? 1 : 0, 'seq_hold');
      setMeta.run(s.lastSeq, 'recovered_seq');
      const p = db.prepare('INSERT OR REPLACE INTO passages (sub, gate, direction, at) VALUES (?, ?, ?, ?)');
      for (const r of s.passages) p.run(r.sub, r.gate, r.direction, r.at);
    })();
  } finally {
    db.close();
  }
  return s.lost.length;
}

function checkIntegrity(file: string): string {
  const db = new Database(file, { fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(file + suffix, { force: true });
}

/** Makes the renames durable (best effort: not every filesystem lets a directory be fsynced). */
function syncDir(path: string): void {
  try {
    const fd = openSync(dirname(path), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}

function readRows<T>(db: Db, sql: string, each: (row: T) => void): boolean {
  try {
    for (const r of db.prepare(sql).iterate() as IterableIterator<T>) each(r);
    return true;
  } catch {
    return false;
  }
}
