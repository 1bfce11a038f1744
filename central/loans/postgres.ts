// LoanStore on central's PostgreSQL pool. Ledger transactions of all workers serialise on one advisory
// lock (two kiosks' batches may touch the same item); reads go straight to the pool.
import type pg from 'pg';
import type { TerminalEvent } from '../../shared/events.js';
import { ledgerKeys, planLoanEvents, type LedgerState } from './plan.js';
import {
  conflictFromRow,
  conflictParams,
  loanFromRow,
  loanParams,
  loansQuery,
  pendingFromRow,
  pgParams,
  Q,
} from './sql.js';
import type { LoanConflict, LoanRow, LoanStore, LoanSummary } from './types.js';

type Row = Record<string, unknown>;
const LEDGER_LOCK = 7158;

export class PostgresLoanStore implements LoanStore {
  constructor(
    private readonly pool: () => pg.Pool,
    private readonly tx: <T>(work: (c: pg.PoolClient) => Promise<T>) => Promise<T>,
  ) {}

  private async all(c: pg.Pool | pg.PoolClient, sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await c.query(pgParams(sql), params)).rows as Row[];
  }

  async applyLoanEvents(terminal: string, events: readonly TerminalEvent[]): Promise<string[]> {
    const { items, subs } = ledgerKeys(events);
    if (items.length === 0) return [];
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [LEDGER_LOCK]);
      const seqs = events.map((e) => e.seq);
      const state: LedgerState = {
        processed: new Set(
          (await this.all(c, Q.processed, [terminal, Math.min(...seqs), Math.max(...seqs)])).map((r) =>
            Number(r.seq),
          ),
        ),
        loans: new Map(),
        pending: new Map(),
        openCount: new Map(),
      };
      for (const i of items) {
        state.loans.set(i, (await this.all(c, Q.heldLoans, [i])).map(loanFromRow));
        state.pending.set(i, (await this.all(c, Q.pending, [i])).map(pendingFromRow));
      }
      for (const s of subs) state.openCount.set(s, Number((await this.all(c, Q.openCount, [s]))[0]!.n));
      const w = planLoanEvents(terminal, events, state);
      for (const seq of w.processed) await this.all(c, Q.markProcessed, [terminal, seq]);
      for (const l of w.loans.values()) await this.all(c, Q.putLoan, loanParams(l));
      for (const p of w.pendingAdded)
        await this.all(c, Q.addPending, [p.terminal, p.seq, p.item, p.at, p.sub ?? null]);
      for (const p of w.pendingRemoved) await this.all(c, Q.dropPending, [p.terminal, p.seq]);
      for (const x of w.conflicts.values()) await this.all(c, Q.putConflict, conflictParams(x));
      return [...w.members];
    });
  }

  async openLoans(subs: readonly string[]): Promise<LoanRow[]> {
    const out: LoanRow[] = [];
    for (const s of subs) out.push(...(await this.all(this.pool(), Q.openOf, [s])).map(loanFromRow));
    return out;
  }

  async loans(query: { sub?: string; openOnly?: boolean; limit?: number }): Promise<LoanRow[]> {
    const q = loansQuery(query);
    return (await this.all(this.pool(), q.sql, q.params)).map(loanFromRow);
  }

  async conflicts(query: { unresolvedOnly?: boolean } = {}): Promise<LoanConflict[]> {
    return (await this.all(this.pool(), query.unresolvedOnly ? Q.unresolved : Q.conflicts)).map(
      conflictFromRow,
    );
  }

  async activity(fromMs: number, toMs: number): Promise<LoanRow[]> {
    return (await this.all(this.pool(), Q.activity, [fromMs, toMs, fromMs, toMs, fromMs, toMs])).map(
      loanFromRow,
    );
  }

  async setBlocked(sub: string, blocked: boolean, at: number): Promise<void> {
    if (blocked) await this.all(this.pool(), Q.block, [sub, at]);
    else await this.all(this.pool(), Q.unblock, [sub]);
  }

  async blockedMembers(): Promise<string[]> {
    return (await this.all(this.pool(), Q.blocked)).map((r) => r.sub as string);
  }

  async summary(nowMs: number): Promise<LoanSummary> {
    const r = (await this.all(this.pool(), Q.summary, [nowMs]))[0]!;
    return {
      open: Number(r.open),
      overdue: Number(r.overdue),
      conflicts: Number(r.conflicts),
      unresolved: Number(r.unresolved),
    };
  }
}
