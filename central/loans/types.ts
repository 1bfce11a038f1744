// Central's loans: what the ledger answers (both stores implement LoanStore; one conformance suite).
import type { TerminalEvent } from '../../shared/events.js';
import type { LoanConflict, LoanRow } from './plan.js';

export type { LoanConflict, LoanRow } from './plan.js';

export interface LoanSummary {
  open: number;
  overdue: number;
  conflicts: number;
  /** Conflicts still waiting for staff or for a late event. */
  unresolved: number;
}

export interface LoanStore {
  /**
   * Applies a committed batch's accepted loan, renewal and return events, each exactly once (by
   * terminal and seq), with the conflict rules of plan.ts, in one transaction. Returns the members whose
   * open loans changed.
   */
  applyLoanEvents(terminal: string, events: readonly TerminalEvent[]): Promise<string[]>;
  /** Open loans of these members. */
  openLoans(subs: readonly string[]): Promise<LoanRow[]>;
  /** Loans, newest first: all, or only open ones, optionally of one member. */
  loans(query: { sub?: string; openOnly?: boolean; limit?: number }): Promise<LoanRow[]>;
  conflicts(query?: { unresolvedOnly?: boolean }): Promise<LoanConflict[]>;
  /** Loans made or returned in [fromMs, toMs): what an ILS export of the day needs. */
  activity(fromMs: number, toMs: number): Promise<LoanRow[]>;
  setBlocked(sub: string, blocked: boolean, at: number): Promise<void>;
  blockedMembers(): Promise<string[]>;
  summary(nowMs: number): Promise<LoanSummary>;
}
