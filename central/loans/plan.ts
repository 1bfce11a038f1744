// The loans ledger's rules, pure: given what central holds for the items and members of a batch, and
// the batch's loan, renewal and return events, the rows to write. Both stores (SQLite, PostgreSQL) load
// the state, call planLoanEvents and write the result in one transaction (docs/library.md, "Conflicts").
//
// Rules, applied per event in seq order; nothing is ever dropped:
// - A loan for an item another loan still holds: `double_loan`. The loan with the later event time keeps
//   the item (it was borrowed last); the earlier one is closed as `superseded`. Resolved automatically.
// - A return with no open loan of the item borrowed before it: kept as a pending return and a
//   `return_before_loan` conflict; the loan, when it arrives with an earlier time, is closed at once by it.
// - A loan that takes the member past the limit the kiosk applied, counting every kiosk's loans:
//   `limit_exceeded`. The loan stands (the member has the book); staff see it.
// - A renewal with no open loan of the item for that member: `renewal_without_loan`, kept for staff.
import type { TerminalEvent } from '../../shared/events.js';

export interface LoanRow {
  terminal: string;
  seq: number;
  item: string;
  sub: string;
  loanedAt: number;
  due: number;
  renewals: number;
  /** The limit the kiosk applied (0 when it did not say). */
  limit: number;
  state: 'open' | 'returned' | 'superseded';
  /** When it was last renewed (unix ms). */
  renewedAt?: number;
  returnedAt?: number;
  returnTerminal?: string;
  returnSeq?: number;
}

export interface PendingReturn {
  terminal: string;
  seq: number;
  item: string;
  at: number;
  sub?: string;
}

export const CONFLICT_KINDS = [
  'double_loan',
  'return_before_loan',
  'limit_exceeded',
  'renewal_without_loan',
] as const;
export type ConflictKind = (typeof CONFLICT_KINDS)[number];

export interface LoanConflict {
  /** `${kind}:${terminal}:${seq}`: one per event and kind. */
  id: string;
  kind: ConflictKind;
  item: string;
  sub?: string;
  terminal: string;
  seq: number;
  at: number;
  /** What the rule did (later_loan_kept, waiting_for_loan, matched, loan_kept, kept_for_staff). */
  resolution: string;
  /** False while staff should act (a return still waiting for its loan, a renewal without a loan). */
  resolved: boolean;
  detail: string;
}

export interface LedgerState {
  /** Seqs of this terminal the ledger already applied. */
  processed: Set<number>;
  /** Loans not returned (open or superseded) of the batch's items. */
  loans: Map<string, LoanRow[]>;
  pending: Map<string, PendingReturn[]>;
  /** Open loans per member of the batch. */
  openCount: Map<string, number>;
}

export interface LedgerWrites {
  loans: Map<string, LoanRow>;
  pendingAdded: PendingReturn[];
  pendingRemoved: PendingReturn[];
  conflicts: Map<string, LoanConflict>;
  processed: number[];
  /** Members whose open loans changed (their status is republished). */
  members: Set<string>;
}

export const LEDGER_KINDS = new Set(['loan', 'renewal', 'return']);

/** Items and members a batch touches: what a store loads before planning. */
export function ledgerKeys(events: readonly TerminalEvent[]): { items: string[]; subs: string[] } {
  const items = new Set<string>();
  const subs = new Set<string>();
  for (const e of events) {
    if (!LEDGER_KINDS.has(e.kind) || e.decision !== 'accept' || typeof e.data?.item !== 'string') continue;
    items.add(e.data.item);
    if (e.sub) subs.add(e.sub);
  }
  return { items: [...items], subs: [...subs] };
}

const key = (l: { terminal: string; seq: number }) => `${l.terminal}:${l.seq}`;
const num = (v: unknown, fallback = 0) => (typeof v === 'number' ? v : fallback);

export function planLoanEvents(
  terminal: string,
  events: readonly TerminalEvent[],
  state: LedgerState,
): LedgerWrites {
  const w: LedgerWrites = {
    loans: new Map(),
    pendingAdded: [],
    pendingRemoved: [],
    conflicts: new Map(),
    processed: [],
    members: new Set(),
  };
  const put = (l: LoanRow) => {
    w.loans.set(key(l), l);
    w.members.add(l.sub);
  };
  const conflict = (c: Omit<LoanConflict, 'id'>) => {
    const id = `${c.kind}:${c.terminal}:${c.seq}`;
    w.conflicts.set(id, { id, ...c });
  };
  const held = (item: string) => state.loans.get(item) ?? (state.loans.set(item, []), state.loans.get(item)!);
  const pendingOf = (item: string) =>
    state.pending.get(item) ?? (state.pending.set(item, []), state.pending.get(item)!);
  const bump = (sub: string, by: number) => state.openCount.set(sub, (state.openCount.get(sub) ?? 0) + by);

  for (const e of events) {
    if (!LEDGER_KINDS.has(e.kind) || e.decision !== 'accept' || typeof e.data?.item !== 'string') continue;
    if (state.processed.has(e.seq)) continue;
    state.processed.add(e.seq);
    w.processed.push(e.seq);
    const item = e.data.item;
    const loans = held(item);
    if (e.kind === 'loan' && e.sub) {
      const loan: LoanRow = {
        terminal,
        seq: e.seq,
        item,
        sub: e.sub,
        loanedAt: e.at,
        due: num(e.data.due, e.at),
        renewals: 0,
        limit: num(e.data.limit),
        state: 'open',
      };
      // A return recorded (elsewhere) after this loan was made, that arrived first, closes it now.
      const pend = pendingOf(item);
      const early = pend.filter((p) => p.at >= loan.loanedAt).sort((a, b) => a.at - b.at)[0];
      if (early) {
        loan.state = 'returned';
        loan.returnedAt = early.at;
        loan.returnTerminal = early.terminal;
        loan.returnSeq = early.seq;
        pend.splice(pend.indexOf(early), 1);
        w.pendingRemoved.push(early);
        conflict({
          kind: 'return_before_loan',
          item,
          sub: e.sub,
          terminal: early.terminal,
          seq: early.seq,
          at: early.at,
          resolution: 'matched',
          resolved: true,
          detail: `return matched loan ${key(loan)} when it arrived`,
        });
        put(loan);
        continue;
      }
      const open = loans.find((l) => l.state === 'open');
      if (open) {
        const laterIsNew = loan.loanedAt >= open.loanedAt;
        const [keep, close] = laterIsNew ? [loan, open] : [open, loan];
        close.state = 'superseded';
        if (close === open) bump(open.sub, -1);
        conflict({
          kind: 'double_loan',
          item,
          sub: e.sub,
          terminal,
          seq: e.seq,
          at: e.at,
          resolution: 'later_loan_kept',
          resolved: true,
          detail: `loans ${key(open)} (${open.sub}) and ${key(loan)} (${loan.sub}); ${key(keep)} keeps the item`,
        });
        put(close);
      }
      loans.push(loan);
      if (loan.state === 'open') bump(loan.sub, 1);
      put(loan);
      const count = state.openCount.get(loan.sub) ?? 0;
      if (loan.state === 'open' && loan.limit > 0 && count > loan.limit)
        conflict({
          kind: 'limit_exceeded',
          item,
          sub: loan.sub,
          terminal,
          seq: e.seq,
          at: e.at,
          resolution: 'loan_kept',
          resolved: true,
          detail: `${count} open loans across kiosks, limit ${loan.limit}`,
        });
    } else if (e.kind === 'renewal' && e.sub) {
      const open = loans.find((l) => l.state === 'open' && l.sub === e.sub);
      if (open) {
        open.due = Math.max(open.due, num(e.data.due, open.due));
        open.renewals = Math.max(open.renewals, num(e.data.renewals, open.renewals + 1));
        open.renewedAt = Math.max(open.renewedAt ?? 0, e.at);
        put(open);
      } else
        conflict({
          kind: 'renewal_without_loan',
          item,
          sub: e.sub,
          terminal,
          seq: e.seq,
          at: e.at,
          resolution: 'kept_for_staff',
          resolved: false,
          detail: 'no open loan of this item for this member',
        });
    } else if (e.kind === 'return') {
      // The loan it ends: the latest one made before the return, open first, else a superseded one.
      const candidates = loans
        .filter((l) => l.loanedAt <= e.at && l.returnedAt === undefined)
        .sort((a, b) => (a.state === b.state ? b.loanedAt - a.loanedAt : a.state === 'open' ? -1 : 1));
      const loan = candidates[0];
      if (loan) {
        if (loan.state === 'open') bump(loan.sub, -1);
        loan.state = 'returned';
        loan.returnedAt = e.at;
        loan.returnTerminal = terminal;
        loan.returnSeq = e.seq;
        loans.splice(loans.indexOf(loan), 1);
        put(loan);
      } else {
        const p: PendingReturn = { terminal, seq: e.seq, item, at: e.at, ...(e.sub ? { sub: e.sub } : {}) };
        pendingOf(item).push(p);
        w.pendingAdded.push(p);
        conflict({
          kind: 'return_before_loan',
          item,
          ...(e.sub ? { sub: e.sub } : {}),
          terminal,
          seq: e.seq,
          at: e.at,
          resolution: 'waiting_for_loan',
          resolved: false,
          detail: 'no loan of this item made before the return is known yet',
        });
      }
    }
  }
  return w;
}
