// Opening the terminal's SQLite database: WAL with synchronous=FULL (a committed event survives power
// loss), a quick check, migrations, and the one connection the repositories share. Only terminal/store/
// imports better-sqlite3.
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { makePrivate, privateDir, sqliteFiles, withPrivateUmask } from '../../shared/private-files.js';
import { damagedSiblings } from './damaged-files.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/** The database file is damaged or is not a database: run `passgate terminal recover`. */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
}
/** The database could not read or write (the decision or list was not recorded). */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    message: string,
    /** SQLite's code, e.g. SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_BUSY. */
    readonly code: string,
  ) {
    super(message);
  }
}
/** The disk (or the configured page limit) is full: nothing more can be recorded until space is freed. */
export class StorageFullError extends StorageError {
  override name = 'StorageFullError';
}
/** The disk failed a read or write (SQLITE_IOERR*): a hardware or file-system problem, not a full disk. */
export class StorageIoError extends StorageError {
  override name = 'StorageIoError';
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** The disk (or the page limit) is full: SQLITE_FULL only (an I/O error is another problem). */
export function isFull(err: unknown): boolean {
  return err instanceof StorageFullError || sqliteCode(err) === 'SQLITE_FULL';
}

/** An error from the database itself (as opposed to a bug in the code around it). */
export function isStorageError(err: unknown): boolean {
  return err instanceof StorageError || sqliteCode(err) !== undefined;
}

/**
 * Rethrows a database error as the StorageError that names it (full, I/O, other); anything else (a bug)
 * is rethrown unchanged.
 */
export function asStorageError(err: unknown, what: string): unknown {
  const code = sqliteCode(err);
  if (code === undefined) return err;
  const message = `${what}: ${(err as Error).message}`;
  if (code === 'SQLITE_FULL') return new StorageFullError(message, code);
  if (code.startsWith('SQLITE_IOERR')) return new StorageIoError(message, code);
  return new StorageError(message, code);
}

/** The WAL is checkpointed once it holds this much, whatever the time (a burst must not fill the disk). */
export const WAL_MAX_BYTES = 1024 * 1024;
/** Space kept in terminal.db.reserve: at least one WAL's worth, so a checkpoint can always run. */
export const RESERVE_BYTES = WAL_MAX_BYTES + 256 * 1024;

/** Counters kept in the `meta` table (one row each). */
export const META_KEYS = [
  'last_seq',
  'acked_seq',
  'occupancy',
  'last_event_at',
  'last_good_ms',
  'beacon_seq',
  'beacon_t',
  'beacon_local',
  'outbox_damaged',
  'seq_hold',
  'recovered_seq',
] as const;
export type MetaKey = (typeof META_KEYS)[number];

function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB';
}

const RECOVER_HINT =
  'run `passgate terminal recover --config FILE` (it keeps the outbox and rebuilds the caches)';

/**
 * Opens (creating when missing) and checks with PRAGMA quick_check. Refuses to create a new database next
 * to a `.damaged-*` file: that is an unfinished recovery, and a fresh database would restart the seq at 1
 * (central would take the new events for duplicates and drop them).
 */
export function openDatabase(path: string, options: { quickCheck?: boolean } = {}): Db {
  // The data folder and every file in it are the owner's only (movement profiles; docs/security.md).
  privateDir(dirname(path));
  if (!existsSync(path)) {
    const damaged = damagedSiblings(path);
    if (damaged.length > 0)
      throw new StoreCorruptError(
        `a damaged database from an unfinished recovery (${damaged[0]}) is next to ${path}: ` +
          'run `passgate terminal recover --config FILE` again, or move the .damaged-* file away if you ' +
          `are sure (a new ${basename(path)} restarts the event seq at 1)`,
      );
  }
  try {
    const db = withPrivateUmask(() => {
      const d = new Database(path);
      d.pragma('journal_mode = WAL');
      return d;
    });
    makePrivate(...sqliteFiles(path));
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 2000');
    // Checkpoints run between decisions (maintenance.checkpoint()), not inside a commit: keeps the tail
    // latency low.
    db.pragma('wal_autocheckpoint = 0');
    // After a checkpoint the WAL restarts from its beginning and is truncated to this size: with the
    // checkpoint by size (Maintenance.checkpointIfWalOver) the WAL stays near WAL_MAX_BYTES.
    db.pragma(`journal_size_limit = ${WAL_MAX_BYTES}`);
    if (options.quickCheck ?? true) {
      const rows = db.pragma('quick_check', { simple: false }) as Array<{ quick_check: string }>;
      const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
      if (problems.length > 0) {
        db.close();
        throw new StoreCorruptError(
          `${path} failed PRAGMA quick_check (${problems.slice(0, 3).join('; ')}): ${RECOVER_HINT}`,
        );
      }
    }
    return db;
  } catch (err) {
    if (err instanceof StoreCorruptError) throw err;
    if (isCorrupt(err))
      throw new StoreCorruptError(
        `${path} is damaged or not a database (${(err as Error).message}): ${RECOVER_HINT}`,
      );
    throw err;
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

/**
 * The connection the repositories share, with the in-memory copy of the meta counters. PRAGMA
 * data_version changes only when another connection commits (e.g. `passgate terminal load-lists` or
 * `recover` while the daemon runs): then every cache is stale and is reloaded (a trust key removed
 * elsewhere must stop verifying at once, not at the next restart).
 */
export class Connection {
  private readonly metaCache = new Map<MetaKey, number>();
  private readonly reloaders: Array<() => void> = [];
  private dataVersion = -1;
  private readonly setMeta: Database.Statement;

  constructor(readonly db: Db) {
    this.setMeta = db.prepare('UPDATE meta SET value = ? WHERE key = ?');
  }

  /** Registers a cache to reload with the meta counters. */
  onReload(reload: () => void): void {
    this.reloaders.push(reload);
  }

  /** Reloads every in-memory cache from disk now. */
  reload(): void {
    for (const row of this.db.prepare('SELECT key, value FROM meta').all() as Array<{
      key: MetaKey;
      value: number;
    }>)
      this.metaCache.set(row.key, row.value);
    for (const k of META_KEYS) if (!this.metaCache.has(k)) this.metaCache.set(k, 0);
    for (const reload of this.reloaders) reload();
    this.dataVersion = this.db.pragma('data_version', { simple: true }) as number;
  }

  refreshIfChangedElsewhere(): void {
    if ((this.db.pragma('data_version', { simple: true }) as number) !== this.dataVersion) this.reload();
  }

  meta(key: MetaKey): number {
    return this.metaCache.get(key)!;
  }
  /** Writes the row (inside the caller's transaction); call remember() once that transaction committed. */
  writeMeta(key: MetaKey, value: number): void {
    this.setMeta.run(value, key);
  }
  rememberMeta(key: MetaKey, value: number): void {
    this.metaCache.set(key, value);
  }
}
