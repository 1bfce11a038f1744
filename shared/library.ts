// Library lists (docs/lists.md, "Library lists"): three signed lists a kiosk needs to lend offline.
//   library  loan policy: {branch?, limit, types: {TYPE: {days, renewals}}}; a delta carries the whole
//            policy again (it is a few hundred bytes).
//   items    the branch's catalogue subset: snapshot {items: [ITEM…]}, delta {upsert: [ITEM…], remove: [barcode…]}
//            ITEM = [barcode, type, loanable, hold?]: hold is the pseudonym the item is held for.
//   members  member library status: snapshot {members: [MEMBER…]}, delta {upsert: [MEMBER…], remove: [sub…]}
//            MEMBER = [sub, blocked, [[barcode, loaned_ms, due_ms, renewals]…]]: the open loans central knows.
// Tuples, not maps: a 200,000-item branch is ~5 MB as tuples and about twice that as maps.
import { asUint, isMap, isUint, wideUint } from './cbor.js';
import { ListError } from './lists.js';

export const BARCODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const ITEM_TYPE = /^[a-z][a-z0-9_-]{0,23}$/;
const MAX_LOANS_PER_MEMBER = 200;

export interface LoanRule {
  /** Loan period in days. */
  days: number;
  /** How many times a loan of this type may be renewed (0: never). */
  renewals: number;
}

export interface LoanPolicy {
  /** The branch this policy is for; a kiosk matches it against the library entitlement's `v`. */
  branch?: string;
  /** Open loans allowed when the credential does not say (`n` of the library entitlement wins). */
  limit: number;
  /** Rules per item type; a type missing here is not loanable. */
  types: Record<string, LoanRule>;
}

export interface CatalogueItem {
  barcode: string;
  type: string;
  loanable: boolean;
  /** Held for this member: nobody else may borrow or renew it. */
  holdFor?: string;
}

export interface MemberLoan {
  barcode: string;
  loanedAt: number;
  due: number;
  renewals: number;
}

export interface MemberStatus {
  sub: string;
  blocked: boolean;
  loans: MemberLoan[];
}

export interface Upserts<T, K> {
  upsert: T[];
  remove: K[];
}

function bad(list: string, message: string): never {
  throw new ListError('list_malformed', `${list} list: ${message}`);
}

function isSub(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 128;
}

function arrayOf(list: string, v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) bad(list, `${field} must be an array`);
  return v as unknown[];
}

// ---- policy ----------------------------------------------------------------------------------
export function encodePolicy(p: LoanPolicy): Map<string, unknown> {
  const types = new Map<string, unknown>();
  for (const [t, r] of Object.entries(p.types))
    types.set(
      t,
      new Map([
        ['days', r.days],
        ['renewals', r.renewals],
      ]),
    );
  const m = new Map<string, unknown>([
    ['limit', p.limit],
    ['types', types],
  ]);
  if (p.branch !== undefined) m.set('branch', p.branch);
  return m;
}

export function readPolicy(body: Map<string, unknown>): LoanPolicy {
  const limit = body.get('limit');
  const types = body.get('types');
  const branch = body.get('branch');
  if (!isUint(limit) || limit > 1000) bad('library', 'limit must be an integer 0-1000');
  if (branch !== undefined && (typeof branch !== 'string' || branch.length === 0 || branch.length > 64))
    bad('library', 'branch must be short text');
  if (!isMap(types) || types.size > 64) bad('library', 'types must be a map of at most 64 item types');
  const out: LoanPolicy = { limit, types: {} };
  for (const [t, r] of types) {
    if (typeof t !== 'string' || !ITEM_TYPE.test(t)) bad('library', 'an item type name is not valid');
    if (!isMap(r)) bad('library', `types.${t} must be a map`);
    const days = r.get('days');
    const renewals = r.get('renewals');
    if (!isUint(days) || days < 1 || days > 366) bad('library', `types.${t}.days must be 1-366`);
    if (!isUint(renewals) || renewals > 50) bad('library', `types.${t}.renewals must be 0-50`);
    out.types[t] = { days, renewals };
  }
  if (branch !== undefined) out.branch = branch as string;
  return out;
}

// ---- items -----------------------------------------------------------------------------------
export function encodeItem(i: CatalogueItem): unknown[] {
  return i.holdFor === undefined
    ? [i.barcode, i.type, i.loanable]
    : [i.barcode, i.type, i.loanable, i.holdFor];
}

function readItem(v: unknown): CatalogueItem {
  if (!Array.isArray(v) || v.length < 3 || v.length > 4)
    bad('items', 'an item must be [barcode, type, loanable, hold?]');
  const [barcode, type, loanable, hold] = v as unknown[];
  if (typeof barcode !== 'string' || !BARCODE.test(barcode)) bad('items', 'an item barcode is not valid');
  if (typeof type !== 'string' || !ITEM_TYPE.test(type)) bad('items', `item ${barcode} has no valid type`);
  if (typeof loanable !== 'boolean') bad('items', `item ${barcode}: loanable must be a boolean`);
  if (hold !== undefined && !isSub(hold)) bad('items', `item ${barcode}: hold must be a pseudonym`);
  const item: CatalogueItem = { barcode, type, loanable };
  if (hold !== undefined) item.holdFor = hold as string;
  return item;
}

function readBarcodes(list: string, v: unknown): string[] {
  return arrayOf(list, v, 'remove').map((b) => {
    if (typeof b !== 'string' || !BARCODE.test(b)) bad(list, 'remove holds a barcode that is not valid');
    return b;
  });
}

export function encodeItemsSnapshot(items: readonly CatalogueItem[]): Map<string, unknown> {
  return new Map([['items', items.map(encodeItem)]]);
}
export function encodeItemsDelta(d: Upserts<CatalogueItem, string>): Map<string, unknown> {
  return new Map<string, unknown>([
    ['upsert', d.upsert.map(encodeItem)],
    ['remove', d.remove],
  ]);
}
export function readItemsSnapshot(body: Map<string, unknown>): CatalogueItem[] {
  return arrayOf('items', body.get('items'), 'items').map(readItem);
}
export function readItemsDelta(body: Map<string, unknown>): Upserts<CatalogueItem, string> {
  return {
    upsert: arrayOf('items', body.get('upsert') ?? [], 'upsert').map(readItem),
    remove: readBarcodes('items', body.get('remove') ?? []),
  };
}

// ---- members ---------------------------------------------------------------------------------
export function encodeMember(m: MemberStatus): unknown[] {
  return [
    m.sub,
    m.blocked,
    m.loans.map((l) => [l.barcode, wideUint(l.loanedAt), wideUint(l.due), l.renewals]),
  ];
}

function readMember(v: unknown): MemberStatus {
  if (!Array.isArray(v) || v.length !== 3) bad('members', 'a member must be [sub, blocked, loans]');
  const [sub, blocked, loans] = v as unknown[];
  if (!isSub(sub)) bad('members', 'a member sub is not valid');
  if (typeof blocked !== 'boolean') bad('members', `member ${sub}: blocked must be a boolean`);
  const raw = arrayOf('members', loans, `member ${sub} loans`);
  if (raw.length > MAX_LOANS_PER_MEMBER)
    bad('members', `member ${sub} has over ${MAX_LOANS_PER_MEMBER} loans`);
  return {
    sub,
    blocked,
    loans: raw.map((l) => {
      if (!Array.isArray(l) || l.length !== 4)
        bad('members', `member ${sub}: a loan must be [barcode, loaned, due, renewals]`);
      const [barcode, loanedAt, due, renewals] = l as unknown[];
      const at = asUint(loanedAt);
      const d = asUint(due);
      if (
        typeof barcode !== 'string' ||
        !BARCODE.test(barcode) ||
        at === undefined ||
        d === undefined ||
        !isUint(renewals)
      )
        bad('members', `member ${sub}: a loan is not valid`);
      return { barcode, loanedAt: at, due: d, renewals };
    }),
  };
}

export function encodeMembersSnapshot(members: readonly MemberStatus[]): Map<string, unknown> {
  return new Map([['members', members.map(encodeMember)]]);
}
export function encodeMembersDelta(d: Upserts<MemberStatus, string>): Map<string, unknown> {
  return new Map<string, unknown>([
    ['upsert', d.upsert.map(encodeMember)],
    ['remove', d.remove],
  ]);
}
export function readMembersSnapshot(body: Map<string, unknown>): MemberStatus[] {
  return arrayOf('members', body.get('members'), 'members').map(readMember);
}
export function readMembersDelta(body: Map<string, unknown>): Upserts<MemberStatus, string> {
  const remove = arrayOf('members', body.get('remove') ?? [], 'remove').map((s) => {
    if (!isSub(s)) bad('members', 'remove holds a sub that is not valid');
    return s;
  });
  return { upsert: arrayOf('members', body.get('upsert') ?? [], 'upsert').map(readMember), remove };
}

/** Due date of a loan (or renewal) made at `atMs` under `rule`: the end of the last day, UTC. */
export function dueDate(atMs: number, rule: LoanRule): number {
  const day = 86_400_000;
  return (Math.floor(atMs / day) + rule.days + 1) * day - 1;
}
