// Work between decisions: pruning expired cache rows, checkpoints, integrity checks, growth limits.
import { statSync } from 'node:fs';
import type { Connection } from './db.js';
import type { DiskReserve } from './disk-reserve.js';
import type { VerifierRepo } from './verifier-repo.js';

export class Maintenance {
  private readonly stmts;

  constructor(
    private readonly conn: Connection,
    private readonly verifier: VerifierRepo,
    private readonly walFile: string,
    readonly reserve: DiskReserve,
  ) {
    const db = conn.db;
    this.stmts = {
      pruneReplay: db.prepare('DELETE FROM replay_cache WHERE expires_at < ?'),
      pruneVerified: db.prepare('DELETE FROM verified_credentials WHERE expires_at < ?'),
      prunePassages: db.prepare('DELETE FROM passages WHERE at < ?'),
      pruneCommands: db.prepare('DELETE FROM used_commands WHERE expires_at < ?'),
    };
  }

  /** Drops replay entries, verified-credential entries and passages that no longer matter. */
  prune(nowSeconds: number, passagesOlderThanMs: number): number {
    return this.conn.db.transaction(() => {
      let n = this.stmts.pruneReplay.run(nowSeconds).changes;
      n += this.stmts.pruneVerified.run(nowSeconds).changes;
      n += this.stmts.prunePassages.run(passagesOlderThanMs).changes;
      n += this.stmts.pruneCommands.run(nowSeconds * 1000).changes;
      return n;
    })();
  }

  /**
   * Between decisions: writes the verified-credential cache and moves the WAL into the database file.
   * Autocheckpoint is off so this never lands inside a decision's commit.
   */
  checkpoint(): void {
    this.verifier.flushVerified();
    this.conn.db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** Bytes in the -wal file now (0 when there is none). */
  walBytes(): number {
    try {
      return statSync(this.walFile).size;
    } catch {
      return 0;
    }
  }

  /**
   * Between decisions, after every decision: checkpoints when the WAL has grown past `limit`, so an
   * unthrottled burst cannot grow it without bound. True when it checkpointed.
   */
  checkpointIfWalOver(limit: number): boolean {
    if (this.walBytes() <= limit) return false;
    this.conn.db.pragma('wal_checkpoint(PASSIVE)');
    return true;
  }

  /**
   * The disk is full: give the reserve back, move the WAL into the database and truncate it. What is
   * freed lets commits go on; the reserve is written again once the disk has room (restoreReserve).
   */
  makeRoom(): void {
    this.reserve.release();
    this.conn.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Writes the reserve again when it is missing and the disk has room. */
  restoreReserve(): boolean {
    return this.reserve.ensure();
  }

  /** PRAGMA integrity_check: 'ok' or the first problems found. */
  integrityCheck(): string {
    const rows = this.conn.db.pragma('integrity_check', { simple: false }) as Array<{
      integrity_check: string;
    }>;
    return rows.map((r) => r.integrity_check).join('; ');
  }

  /** Caps the file at its current size plus `extraPages` (tests and drills: simulates a full disk). */
  limitGrowth(extraPages: number): void {
    const pages = this.conn.db.pragma('page_count', { simple: true }) as number;
    this.conn.db.pragma(`max_page_count = ${pages + extraPages}`);
  }
}
