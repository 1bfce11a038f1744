// LoanStore on central's SQLite connection: load, plan (plan.ts), write, in one synchronous transaction.
import type Database from 'better-sqlite3';
import type { TerminalEvent } from '../../shared/events.js';
import { ledgerKeys, planLoanEvents, type LedgerState } from './plan.js';
import {
  conflictFromRow,
  conflictParams,
  loanFromRow,
  loanParams,
  loansQuery,
  pendingFromRow,
  Q,
} from './sql.js';
import type { LoanConflict, LoanRow, LoanStore, LoanSummary } from './types.js';

type Row = Record<string, unknown>;

export class SqliteLoanStore implements LoanStore {
  constructor(private readonly db: () => Database.Database) {}

  async applyLoanEvents(terminal: string, events: readonly TerminalEvent[]): Promise<string[]> {
    const { items, subs } = ledgerKeys(events);
    if (items.length === 0) return [];
    const db = this.db();
    return db
      .transaction(() => {
        const seqs = events.map((e) => e.seq);
        const state: LedgerState = {
          processed: new Set(
            db
              .prepare(Q.processed)
              .pluck()
              .all(terminal, Math.min(...seqs), Math.max(...seqs)) as number[],
          ),
          loans: new Map(items.map((i) => [i, (db.prepare(Q.heldLoans).all(i) as Row[]).map(loanFromRow)])),
          pending: new Map(
            items.map((i) => [i, (db.prepare(Q.pending).all(i) as Row[]).map(pendingFromRow)]),
          ),
          openCount: new Map(subs.map((s) => [s, (db.prepare(Q.openCount).get(s) as { n: number }).n])),
        };
        const w = planLoanEvents(terminal, events, state);
        for (const seq of w.processed) db.prepare(Q.markProcessed).run(terminal, seq);
        for (const l of w.loans.values()) db.prepare(Q.putLoan).run(...loanParams(l));
        for (const p of w.pendingAdded)
          db.prepare(Q.addPending).run(p.terminal, p.seq, p.item, p.at, p.sub ?? null);
        for (const p of w.pendingRemoved) db.prepare(Q.dropPending).run(p.terminal, p.seq);
        for (const c of w.conflicts.values()) db.prepare(Q.putConflict).run(...conflictParams(c));
        return [...w.members];
      })
      .immediate();
  }

  async openLoans(subs: readonly string[]): Promise<LoanRow[]> {
    const stmt = this.db().prepare(Q.openOf);
    return subs.flatMap((s) => (stmt.all(s) as Row[]).map(loanFromRow));
  }

  async loans(query: { sub?: string; openOnly?: boolean; limit?: number }): Promise<LoanRow[]> {
    const q = loansQuery(query);
    return (
      this.db()
        .prepare(q.sql)
        .all(...q.params) as Row[]
    ).map(loanFromRow);
  }

  async conflicts(query: { unresolvedOnly?: boolean } = {}): Promise<LoanConflict[]> {
    return (
      this.db()
        .prepare(query.unresolvedOnly ? Q.unresolved : Q.conflicts)
        .all() as Row[]
    ).map(conflictFromRow);
  }

  async activity(fromMs: number, toMs: number): Promise<LoanRow[]> {
    return (this.db().prepare(Q.activity).all(fromMs, toMs, fromMs, toMs, fromMs, toMs) as Row[]).map(
      loanFromRow,
    );
  }

  async setBlocked(sub: string, blocked: boolean, at: number): Promise<void> {
    if (blocked) this.db().prepare(Q.block).run(sub, at);
    else this.db().prepare(Q.unblock).run(sub);
  }

  async blockedMembers(): Promise<string[]> {
    return this.db().prepare(Q.blocked).pluck().all() as string[];
  }

  async summary(nowMs: number): Promise<LoanSummary> {
    const r = this.db().prepare(Q.summary).get(nowMs) as Record<string, number>;
    return { open: r.open!, overdue: r.overdue!, conflicts: r.conflicts!, unresolved: r.unresolved! };
  }
}
