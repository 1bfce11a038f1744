// Work between decisions: pruning expired cache rows, checkpoints, integrity checks, growth limits.
import type { Connection } from './db.js';
import type { VerifierRepo } from './verifier-repo.js';

export class Maintenance {
  private readonly stmts;

  constructor(
    private readonly conn: Connection,
    private readonly verifier: VerifierRepo,
  ) {
    const db = conn.db;
    this.stmts = {
      pruneReplay: db.prepare('DELETE FROM replay_cache WHERE expires_at < ?'),
      pruneVerified: db.prepare('DELETE FROM verified_credentials WHERE expires_at < ?'),
      prunePassages: db.prepare('DELETE FROM passages WHERE at < ?'),
    };
  }

  /** Drops replay entries, verified-credential entries and passages that no longer matter. */
  prune(nowSeconds: number, passagesOlderThanMs: number): number {
    return this.conn.db.transaction(() => {
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
    this.verifier.flushVerified();
    this.conn.db.pragma('wal_checkpoint(PASSIVE)');
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
