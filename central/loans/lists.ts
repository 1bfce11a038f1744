// The library lists as central keeps them: list elements with JSON data (policy: one element; item: key
// barcode; member: key sub), turned into the signed bodies of shared/library.ts.
import {
  encodeItemsDelta,
  encodeItemsSnapshot,
  encodeMembersDelta,
  encodeMembersSnapshot,
  encodePolicy,
  type CatalogueItem,
  type LoanPolicy,
  type MemberStatus,
} from '../../shared/library.js';
import type { SignedList } from '../../shared/lists.js';
import type { ListChange, ListElement } from '../store/types.js';

export type LibraryListType = 'library' | 'items' | 'members';
export const LIBRARY_LISTS: LibraryListType[] = ['library', 'items', 'members'];

interface ItemData {
  t: string;
  l: boolean;
  h?: string;
}
interface MemberData {
  b: boolean;
  loans: Array<[string, number, number, number]>;
}

export function policyChange(p: LoanPolicy): ListChange {
  return { kind: 'policy', key: 'policy', state: 'add', data: JSON.stringify(p) };
}
export function itemChange(i: CatalogueItem): ListChange {
  const d: ItemData = { t: i.type, l: i.loanable, ...(i.holdFor ? { h: i.holdFor } : {}) };
  return { kind: 'item', key: i.barcode, state: 'add', data: JSON.stringify(d) };
}
export function itemRemoval(barcode: string): ListChange {
  return { kind: 'item', key: barcode, state: 'remove' };
}
/** A member with no open loan and no block leaves the list. */
export function memberChange(m: MemberStatus): ListChange {
  if (!m.blocked && m.loans.length === 0) return { kind: 'member', key: m.sub, state: 'remove' };
  const d: MemberData = {
    b: m.blocked,
    loans: m.loans.map((l) => [l.barcode, l.loanedAt, l.due, l.renewals]),
  };
  return { kind: 'member', key: m.sub, state: 'add', data: JSON.stringify(d) };
}

const item = (e: ListElement): CatalogueItem => {
  const d = JSON.parse(e.data ?? '{}') as ItemData;
  return { barcode: e.key, type: d.t, loanable: d.l, ...(d.h ? { holdFor: d.h } : {}) };
};
const member = (e: ListElement): MemberStatus => {
  const d = JSON.parse(e.data ?? '{}') as MemberData;
  return {
    sub: e.key,
    blocked: d.b,
    loans: d.loans.map(([barcode, loanedAt, due, renewals]) => ({ barcode, loanedAt, due, renewals })),
  };
};
const policy = (elements: ListElement[]): LoanPolicy => {
  const e = elements.find((x) => x.kind === 'policy' && x.state === 'add');
  return e ? (JSON.parse(e.data!) as LoanPolicy) : { limit: 0, types: {} };
};

export function buildLibrarySnapshot(
  type: LibraryListType,
  version: number,
  issuedAt: number,
  elements: ListElement[],
): SignedList {
  const live = elements.filter((e) => e.state === 'add');
  const snapshot =
    type === 'library'
      ? encodePolicy(policy(live))
      : type === 'items'
        ? encodeItemsSnapshot(live.map(item))
        : encodeMembersSnapshot(live.map(member));
  return { type, version, issuedAt, snapshot };
}

export function buildLibraryDelta(
  type: LibraryListType,
  base: number,
  version: number,
  issuedAt: number,
  elements: ListElement[],
  /** The whole current policy: a policy delta carries all of it. */
  allElements: () => ListElement[] = () => elements,
): SignedList {
  const add = elements.filter((e) => e.state === 'add');
  const removed = elements.filter((e) => e.state === 'remove').map((e) => e.key);
  const delta =
    type === 'library'
      ? encodePolicy(policy(allElements()))
      : type === 'items'
        ? encodeItemsDelta({ upsert: add.map(item), remove: removed })
        : encodeMembersDelta({ upsert: add.map(member), remove: removed });
  return { type, version, issuedAt, base, delta };
}
