// Ids of central's commands already run, until each would be refused as too old anyway (migration 2):
// a captured signed command is refused after a restart too (issue 8 item 8; docs/security.md).
import type { Connection } from './db.js';

export class CommandsRepo {
  private readonly stmts;

  constructor(conn: Connection) {
    const db = conn.db;
    this.stmts = {
      ran: db.prepare('SELECT 1 FROM used_commands WHERE id = ? AND expires_at >= ?').pluck(),
      record: db.prepare('INSERT OR REPLACE INTO used_commands (id, expires_at) VALUES (?, ?)'),
    };
  }

  /** True when a command with this id already ran and has not expired (ms, terminal clock). */
  alreadyRun(id: string, nowMs: number): boolean {
    return this.stmts.ran.get(id, nowMs) !== undefined;
  }

  /** Durable before the command runs: a restart cannot make it run twice. */
  record(id: string, expiresAtMs: number): void {
    this.stmts.record.run(id, expiresAtMs);
  }
}
