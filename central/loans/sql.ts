// The loans tables and statements, written once for both stores (SQLite takes `?`, PostgreSQL `$n`:
// pgParams converts). Rows come back with snake_case columns; fromRow maps them (BIGINT arrives as text
// from PostgreSQL).
import type { LoanConflict, LoanRow, PendingReturn } from './plan.js';

export const LOANS_SCHEMA = (bigint: string) => `
CREATE TABLE IF NOT EXISTS loans (
  terminal TEXT NOT NULL, seq ${bigint} NOT NULL, item TEXT NOT NULL, sub TEXT NOT NULL,
  loaned_at ${bigint} NOT NULL, due ${bigint} NOT NULL, renewals INTEGER NOT NULL, lim INTEGER NOT NULL,
  state TEXT NOT NULL, renewed_at ${bigint}, returned_at ${bigint}, return_terminal TEXT, return_seq ${bigint},
  PRIMARY KEY (terminal, seq));
CREATE INDEX IF NOT EXISTS loans_item ON loans (item, state);
CREATE INDEX IF NOT EXISTS loans_sub ON loans (sub, state);
CREATE INDEX IF NOT EXISTS loans_loaned_at ON loans (loaned_at);
CREATE INDEX IF NOT EXISTS loans_returned_at ON loans (returned_at);
CREATE TABLE IF NOT EXISTS loan_pending_returns (
  terminal TEXT NOT NULL, seq ${bigint} NOT NULL, item TEXT NOT NULL, at ${bigint} NOT NULL, sub TEXT,
  PRIMARY KEY (terminal, seq));
CREATE INDEX IF NOT EXISTS loan_pending_returns_item ON loan_pending_returns (item);
CREATE TABLE IF NOT EXISTS loan_conflicts (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, item TEXT NOT NULL, sub TEXT, terminal TEXT NOT NULL,
  seq ${bigint} NOT NULL, at ${bigint} NOT NULL, resolution TEXT NOT NULL, resolved INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS loan_processed (terminal TEXT NOT NULL, seq ${bigint} NOT NULL, PRIMARY KEY (terminal, seq));
CREATE TABLE IF NOT EXISTS library_blocks (sub TEXT PRIMARY KEY, at ${bigint} NOT NULL);
`;

export const Q = {
  processed: 'SELECT seq FROM loan_processed WHERE terminal = ? AND seq >= ? AND seq <= ?',
  markProcessed: 'INSERT INTO loan_processed (terminal, seq) VALUES (?, ?) ON CONFLICT DO NOTHING',
  heldLoans: "SELECT * FROM loans WHERE item = ? AND state <> 'returned'",
  pending: 'SELECT * FROM loan_pending_returns WHERE item = ?',
  openCount: "SELECT count(*) AS n FROM loans WHERE sub = ? AND state = 'open'",
  putLoan: `INSERT INTO loans (terminal, seq, item, sub, loaned_at, due, renewals, lim, state, renewed_at, returned_at, return_terminal, return_seq)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (terminal, seq) DO UPDATE SET due = excluded.due, renewals = excluded.renewals, state = excluded.state,
      renewed_at = excluded.renewed_at,
      returned_at = excluded.returned_at, return_terminal = excluded.return_terminal, return_seq = excluded.return_seq`,
  addPending:
    'INSERT INTO loan_pending_returns (terminal, seq, item, at, sub) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  dropPending: 'DELETE FROM loan_pending_returns WHERE terminal = ? AND seq = ?',
  putConflict: `INSERT INTO loan_conflicts (id, kind, item, sub, terminal, seq, at, resolution, resolved, detail)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET resolution = excluded.resolution, resolved = excluded.resolved, detail = excluded.detail`,
  openOf: "SELECT * FROM loans WHERE sub = ? AND state = 'open' ORDER BY loaned_at",
  activity:
    'SELECT * FROM loans WHERE (loaned_at >= ? AND loaned_at < ?) OR (returned_at >= ? AND returned_at < ?) OR (renewed_at >= ? AND renewed_at < ?) ORDER BY loaned_at, terminal, seq',
  conflicts: 'SELECT * FROM loan_conflicts ORDER BY at, id',
  unresolved: 'SELECT * FROM loan_conflicts WHERE resolved = 0 ORDER BY at, id',
  block:
    'INSERT INTO library_blocks (sub, at) VALUES (?, ?) ON CONFLICT (sub) DO UPDATE SET at = excluded.at',
  unblock: 'DELETE FROM library_blocks WHERE sub = ?',
  blocked: 'SELECT sub FROM library_blocks ORDER BY sub',
  summary: `SELECT
    (SELECT count(*) FROM loans WHERE state = 'open') AS open,
    (SELECT count(*) FROM loans WHERE state = 'open' AND due < ?) AS overdue,
    (SELECT count(*) FROM loan_conflicts) AS conflicts,
    (SELECT count(*) FROM loan_conflicts WHERE resolved = 0) AS unresolved`,
};

export function loansQuery(q: { sub?: string; openOnly?: boolean; limit?: number }): {
  sql: string;
  params: unknown[];
} {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.sub !== undefined) {
    where.push('sub = ?');
    params.push(q.sub);
  }
  if (q.openOnly) where.push("state = 'open'");
  params.push(Math.min(q.limit ?? 1000, 10_000));
  return {
    sql: `SELECT * FROM loans ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY loaned_at DESC, terminal, seq LIMIT ?`,
    params,
  };
}

/** `?` → `$1, $2 …` for PostgreSQL (no statement here has a `?` inside a string). */
export function pgParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export function loanParams(l: LoanRow): unknown[] {
  return [
    l.terminal,
    l.seq,
    l.item,
    l.sub,
    l.loanedAt,
    l.due,
    l.renewals,
    l.limit,
    l.state,
    l.renewedAt ?? null,
    l.returnedAt ?? null,
    l.returnTerminal ?? null,
    l.returnSeq ?? null,
  ];
}

export function conflictParams(c: LoanConflict): unknown[] {
  return [
    c.id,
    c.kind,
    c.item,
    c.sub ?? null,
    c.terminal,
    c.seq,
    c.at,
    c.resolution,
    c.resolved ? 1 : 0,
    c.detail,
  ];
}

type Row = Record<string, unknown>;
const n = (v: unknown) => Number(v);

export function loanFromRow(r: Row): LoanRow {
  const l: LoanRow = {
    terminal: r.terminal as string,
    seq: n(r.seq),
    item: r.item as string,
    sub: r.sub as string,
    loanedAt: n(r.loaned_at),
    due: n(r.due),
    renewals: n(r.renewals),
    limit: n(r.lim),
    state: r.state as LoanRow['state'],
  };
  if (r.renewed_at !== null && r.renewed_at !== undefined) l.renewedAt = n(r.renewed_at);
  if (r.returned_at !== null && r.returned_at !== undefined) l.returnedAt = n(r.returned_at);
  if (r.return_terminal !== null && r.return_terminal !== undefined)
    l.returnTerminal = r.return_terminal as string;
  if (r.return_seq !== null && r.return_seq !== undefined) l.returnSeq = n(r.return_seq);
  return l;
}

export function pendingFromRow(r: Row): PendingReturn {
  return {
    terminal: r.terminal as string,
    seq: n(r.seq),
    item: r.item as string,
    at: n(r.at),
    ...(r.sub !== null && r.sub !== undefined ? { sub: r.sub as string } : {}),
  };
}

export function conflictFromRow(r: Row): LoanConflict {
  return {
    id: r.id as string,
    kind: r.kind as LoanConflict['kind'],
    item: r.item as string,
    ...(r.sub !== null && r.sub !== undefined ? { sub: r.sub as string } : {}),
    terminal: r.terminal as string,
    seq: n(r.seq),
    at: n(r.at),
    resolution: r.resolution as string,
    resolved: n(r.resolved) === 1,
    detail: r.detail as string,
  };
}
