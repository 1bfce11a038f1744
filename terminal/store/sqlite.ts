// The terminal's SQLite store: repositories on one connection (db.ts), and commitEvent, the one
// transaction that spans them (an event, its replay key, its passage and the occupancy are durable
// together or not at all).
import type { TerminalEvent } from '../../shared/events.js';
import { ClockRepo } from './clock-repo.js';
import { CommandsRepo } from './commands-repo.js';
import {
  asStorageError,
  Connection,
  isFull,
  migrate,
  openDatabase,
  RESERVE_BYTES,
  StorageFullError,
  type Db,
} from './db.js';
import { DiskReserve } from './disk-reserve.js';
import { ListsRepo } from './lists-repo.js';
import { Maintenance } from './maintenance.js';
import { OutboxRepo } from './outbox-repo.js';
import { VerifierRepo } from './verifier-repo.js';

export {
  isStorageError,
  META_KEYS,
  migrate,
  StorageError,
  StorageFullError,
  StorageIoError,
  StoreCorruptError,
  WAL_MAX_BYTES,
} from './db.js';
export type { ClockRecord } from './clock-repo.js';
export type { ListVersionInfo } from './lists-repo.js';
export type { Passage } from './verifier-repo.js';

/** What a decision changes besides the outbox, committed in the same transaction as its event. */
export interface CommitEffects {
  replay?: { key: string; expiresAt: number };
  passage?: { sub: string; gate: string; direction: 'in' | 'out'; at: number };
  occupancyDelta?: number;
  /** Repository writes that belong to this decision (the kiosk's loans), run inside the same transaction. */
  write?: (seq: number) => void;
}

interface Parts {
  conn: Connection;
  verifier: VerifierRepo;
  outbox: OutboxRepo;
  clock: ClockRepo;
  lists: ListsRepo;
  maintenance: Maintenance;
  commands: CommandsRepo;
}

export class SqliteStore {
  private parts: Parts | undefined;

  constructor(readonly path: string) {}

  /**
   * Opens (creating when missing), checks with PRAGMA quick_check and migrates. Refuses to create a new
   * database next to a `.damaged-*` file (see openDatabase).
   */
  /** `reserve`: keep terminal.db.reserve (the daemon does; one-shot commands do not). */
  open(options: { quickCheck?: boolean; reserve?: boolean } = {}): void {
    // A start on a full disk needs room to open (the -shm file) and to checkpoint: free the reserve
    // first, checkpoint, then write the reserve again if the disk has room.
    const reserve = new DiskReserve(`${this.path}.reserve`, options.reserve ? RESERVE_BYTES : 0);
    if (options.reserve) reserve.release();
    const db = openDatabase(this.path, options);
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // a busy or full database: the daemon checkpoints again between decisions
    }
    migrate(db);
    if (options.reserve) reserve.ensure();
    const conn = new Connection(db);
    const verifier = new VerifierRepo(conn);
    this.parts = {
      conn,
      verifier,
      outbox: new OutboxRepo(conn),
      clock: new ClockRepo(conn),
      lists: new ListsRepo(conn, () => verifier.reloadKeys()),
      maintenance: new Maintenance(conn, verifier, `${this.path}-wal`, reserve),
      commands: new CommandsRepo(conn),
    };
    conn.reload();
  }

  private get open_(): Parts {
    if (!this.parts) throw new Error('store is not open');
    return this.parts;
  }
  get isOpen(): boolean {
    return this.parts !== undefined;
  }
  /** The token core's VerifierStore and the policy state. */
  get verifier(): VerifierRepo {
    return this.open_.verifier;
  }
  get outbox(): OutboxRepo {
    return this.open_.outbox;
  }
  get clock(): ClockRepo {
    return this.open_.clock;
  }
  get lists(): ListsRepo {
    return this.open_.lists;
  }
  get maintenance(): Maintenance {
    return this.open_.maintenance;
  }
  /** The one connection, for repositories kept outside this folder (terminal/kiosk/loans-repo.ts). */
  get connection(): Db {
    return this.open_.conn.db;
  }

  get commands(): CommandsRepo {
    return this.open_.commands;
  }

  /** Reloads the in-memory caches (meta counters, trust keys) from disk now (central's `reload`). */
  reloadCaches(): void {
    this.open_.conn.reload();
  }

  close(): void {
    if (!this.parts) return;
    const { conn, maintenance } = this.parts;
    try {
      maintenance.checkpoint();
      conn.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A checkpoint is an optimisation; the WAL is replayed on the next open.
    }
    conn.db.close();
    this.parts = undefined;
  }

  /**
   * Commits one event with its effects in a single durable transaction and returns it with its seq.
   * Throws a StorageError (StorageFullError when the disk is full); nothing is then recorded.
   */
  commitEvent(event: Omit<TerminalEvent, 'seq'>, effects: CommitEffects = {}): TerminalEvent {
    const { conn, outbox, clock, verifier } = this.open_;
    const tx = conn.db.transaction((): TerminalEvent => {
      const full = outbox.append(event);
      clock.advanceTo(full.at);
      if (effects.replay) verifier.recordReplay(effects.replay.key, effects.replay.expiresAt);
      if (effects.passage) verifier.recordPassage(effects.passage);
      if (effects.occupancyDelta)
        conn.writeMeta('occupancy', Math.max(0, conn.meta('occupancy') + effects.occupancyDelta));
      effects.write?.(full.seq);
      return full;
    });
    let committed: TerminalEvent;
    try {
      committed = tx.immediate();
    } catch (err) {
      if (!isFull(err)) throw asStorageError(err, 'cannot record the event');
      // Out of space: free the reserve, checkpoint and truncate the WAL, and try once more.
      try {
        this.open_.maintenance.makeRoom();
        committed = tx.immediate();
      } catch (again) {
        throw new StorageFullError(`cannot record the event: ${(again as Error).message}`, 'SQLITE_FULL');
      }
    }
    outbox.appended(committed.seq);
    clock.advanced(committed.at);
    if (effects.occupancyDelta)
      conn.rememberMeta('occupancy', Math.max(0, conn.meta('occupancy') + effects.occupancyDelta));
    return committed;
  }
}
