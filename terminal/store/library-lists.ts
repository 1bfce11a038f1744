// Applies the library lists (shared/library.ts) inside the store's list transaction: the catalogue and
// the member status go into tables (a 200,000-item branch is looked up by primary key, never decoded
// per decision); the loan policy stays a CBOR map in `policies` (applyPolicy in sqlite.ts).
import type Database from 'better-sqlite3';
import {
  readItemsDelta,
  readItemsSnapshot,
  readMembersDelta,
  readMembersSnapshot,
  type CatalogueItem,
  type MemberStatus,
} from '../../shared/library.js';
import { isDelta, type MapListType, type SignedList } from '../../shared/lists.js';

type MapList = Extract<SignedList, { type: MapListType }>;

type Db = Database.Database;

export function applyItems(db: Db, list: MapList): void {
  const upsert = db.prepare(
    'INSERT OR REPLACE INTO library_items (barcode, type, loanable, hold_for) VALUES (?, ?, ?, ?)',
  );
  const put = (i: CatalogueItem) => upsert.run(i.barcode, i.type, i.loanable ? 1 : 0, i.holdFor ?? null);
  if (isDelta(list)) {
    const d = readItemsDelta(list.delta);
    const del = db.prepare('DELETE FROM library_items WHERE barcode = ?');
    for (const b of d.remove) del.run(b);
    d.upsert.forEach(put);
  } else {
    const items = readItemsSnapshot(list.snapshot);
    db.exec('DELETE FROM library_items');
    items.forEach(put);
  }
}

/**
 * Member status replaces what central said before. The kiosk's own loans and returns that central has
 * acknowledged are dropped here: central's list now speaks for them (docs/library.md, "What a kiosk knows").
 */
export function applyMembers(db: Db, list: MapList, ackedSeq: number): void {
  const putMember = db.prepare('INSERT OR REPLACE INTO library_members (sub, blocked) VALUES (?, ?)');
  const putLoan = db.prepare(
    'INSERT OR REPLACE INTO library_member_loans (sub, barcode, loaned_at, due, renewals) VALUES (?, ?, ?, ?, ?)',
  );
  const dropLoans = db.prepare('DELETE FROM library_member_loans WHERE sub = ?');
  const dropMember = db.prepare('DELETE FROM library_members WHERE sub = ?');
  const put = (m: MemberStatus) => {
    putMember.run(m.sub, m.blocked ? 1 : 0);
    dropLoans.run(m.sub);
    for (const l of m.loans) putLoan.run(m.sub, l.barcode, l.loanedAt, l.due, l.renewals);
  };
  if (isDelta(list)) {
    const d = readMembersDelta(list.delta);
    for (const sub of d.remove) {
      dropMember.run(sub);
      dropLoans.run(sub);
    }
    d.upsert.forEach(put);
  } else {
    const members = readMembersSnapshot(list.snapshot);
    db.exec('DELETE FROM library_members; DELETE FROM library_member_loans');
    members.forEach(put);
  }
  db.prepare('DELETE FROM kiosk_loans WHERE seq <= ?').run(ackedSeq);
  db.prepare('DELETE FROM kiosk_returns WHERE seq <= ?').run(ackedSeq);
}
