// The kiosk's repository on the terminal's one SQLite connection: the catalogue and member status from
// the library lists, and the loans and returns this kiosk made itself (tables in migration 2). What a
// kiosk knows of an item's holder: its own loan first, else central's list unless returned here since.
import type Database from 'better-sqlite3';
import { decodeCbor, isMap } from '../../shared/cbor.js';
import { readPolicy, type CatalogueItem, type LoanPolicy } from '../../shared/library.js';
import { LIST_LIMITS } from '../../shared/lists.js';

/** What the ILS is told (ils_queue rows, sip2-forwarder.ts). */
export type IlsAction =
  | { kind: 'loan' | 'renewal'; item: string; sub: string; at: number; due: number }
  | { kind: 'return'; item: string; at: number };

export interface OpenLoan {
  barcode: string;
  sub: string;
  loanedAt: number;
  due: number;
  renewals: number;
  /** Made (or renewed) at this kiosk and not yet reflected by central's member list. */
  local: boolean;
}

interface LoanRow {
  barcode: string;
  sub: string;
  loaned_at: number;
  due: number;
  renewals: number;
  local: number;
}

const toLoan = (r: LoanRow): OpenLoan => ({
  barcode: r.barcode,
  sub: r.sub,
  loanedAt: r.loaned_at,
  due: r.due,
  renewals: r.renewals,
  local: r.local === 1,
});

const CENTRAL_VISIBLE = `(r.at IS NULL OR r.at < m.loaned_at) AND NOT EXISTS (SELECT 1 FROM kiosk_loans k WHERE k.barcode = m.barcode)`;

export class LoansRepo {
  private readonly s;
  private policyCache: { version: number; policy: LoanPolicy | undefined } | undefined;

  constructor(private readonly db: Database.Database) {
    this.s = {
      item: db.prepare('SELECT barcode, type, loanable, hold_for FROM library_items WHERE barcode = ?'),
      member: db.prepare('SELECT blocked FROM library_members WHERE sub = ?').pluck(),
      localHolder: db.prepare(
        'SELECT barcode, sub, loaned_at, due, renewals, 1 AS local FROM kiosk_loans WHERE barcode = ?',
      ),
      centralHolder: db.prepare(
        `SELECT m.barcode, m.sub, m.loaned_at, m.due, m.renewals, 0 AS local FROM library_member_loans m
         LEFT JOIN kiosk_returns r ON r.barcode = m.barcode
         WHERE m.barcode = ? AND ${CENTRAL_VISIBLE} ORDER BY m.loaned_at DESC LIMIT 1`,
      ),
      openLoans: db.prepare(
        `SELECT barcode, sub, loaned_at, due, renewals, 1 AS local FROM kiosk_loans WHERE sub = ?
         UNION ALL
         SELECT m.barcode, m.sub, m.loaned_at, m.due, m.renewals, 0 AS local FROM library_member_loans m
         LEFT JOIN kiosk_returns r ON r.barcode = m.barcode
         WHERE m.sub = ? AND ${CENTRAL_VISIBLE}`,
      ),
      putLoan: db.prepare(
        'INSERT OR REPLACE INTO kiosk_loans (barcode, sub, loaned_at, due, renewals, seq) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      dropLoan: db.prepare('DELETE FROM kiosk_loans WHERE barcode = ?'),
      putReturn: db.prepare('INSERT OR REPLACE INTO kiosk_returns (barcode, at, seq) VALUES (?, ?, ?)'),
      queueIls: db.prepare('INSERT INTO ils_queue (seq, body) VALUES (?, ?)'),
      nextIls: db.prepare('SELECT seq, body FROM ils_queue ORDER BY seq LIMIT 1'),
      dropIls: db.prepare('DELETE FROM ils_queue WHERE seq = ?'),
      policyVersion: db.prepare("SELECT version FROM list_versions WHERE type = 'library'").pluck(),
      policy: db.prepare("SELECT body FROM policies WHERE name = 'library'").pluck(),
    };
  }

  item(barcode: string): CatalogueItem | undefined {
    const r = this.s.item.get(barcode) as
      { barcode: string; type: string; loanable: number; hold_for: string | null } | undefined;
    if (!r) return undefined;
    const item: CatalogueItem = { barcode: r.barcode, type: r.type, loanable: r.loanable === 1 };
    if (r.hold_for !== null) item.holdFor = r.hold_for;
    return item;
  }

  /** Blocked flag from the member list; a member central never listed is not blocked. */
  isBlocked(sub: string): boolean {
    return this.s.member.get(sub) === 1;
  }

  holder(barcode: string): OpenLoan | undefined {
    const r = (this.s.localHolder.get(barcode) ?? this.s.centralHolder.get(barcode)) as LoanRow | undefined;
    return r && toLoan(r);
  }

  openLoans(sub: string): OpenLoan[] {
    return (this.s.openLoans.all(sub, sub) as LoanRow[]).map(toLoan);
  }

  /** The loan policy from the `library` list; undefined until one was applied (nothing is loanable). */
  policy(): LoanPolicy | undefined {
    const version = (this.s.policyVersion.get() as number | undefined) ?? 0;
    if (this.policyCache?.version !== version) {
      const body = this.s.policy.get() as Buffer | undefined;
      let policy: LoanPolicy | undefined;
      if (body) {
        const map = decodeCbor(new Uint8Array(body), LIST_LIMITS);
        policy = isMap(map) ? readPolicy(map as Map<string, unknown>) : undefined;
      }
      this.policyCache = { version, policy };
    }
    return this.policyCache.policy;
  }

  /** Inside the event's transaction (CommitEffects.write): a loan or renewal made here. */
  recordLoan(seq: number, loan: Omit<OpenLoan, 'local'>): void {
    this.s.putLoan.run(loan.barcode, loan.sub, loan.loanedAt, loan.due, loan.renewals, seq);
  }

  /** Inside the event's transaction: the item came back here. */
  recordReturn(seq: number, barcode: string, at: number): void {
    this.s.dropLoan.run(barcode);
    this.s.putReturn.run(barcode, at, seq);
  }

  /** Inside the event's transaction: the action to forward to the ILS. */
  queueForIls(seq: number, action: IlsAction): void {
    this.s.queueIls.run(seq, JSON.stringify(action));
  }

  nextForIls(): { seq: number; action: IlsAction } | undefined {
    const r = this.s.nextIls.get() as { seq: number; body: string } | undefined;
    return r && { seq: r.seq, action: JSON.parse(r.body) as IlsAction };
  }

  forwardedToIls(seq: number): void {
    this.s.dropIls.run(seq);
  }
}
