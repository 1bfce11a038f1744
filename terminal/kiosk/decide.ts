// Pure item decisions at a kiosk, in a documented order (docs/library.md, "Item decisions"); the first
// failure wins. Scanning an item the member already holds asks for a renewal.
//   item_unknown → (renewal: renew_refused why member_blocked | on_hold | not_renewable | max_renewals)
//   → member_blocked → item_not_loanable (why reference | on_hold | on_loan) → loan_limit → loan
import { dueDate, type CatalogueItem, type LoanPolicy } from '../../shared/library.js';
import type { DenyReason } from '../../shared/reasons.js';
import type { OpenLoan } from './loans-repo.js';

export type RenewRefusal = 'member_blocked' | 'on_hold' | 'not_renewable' | 'max_renewals';
export type NotLoanable = 'reference' | 'on_hold' | 'on_loan';

export interface ItemFacts {
  sub: string;
  blocked: boolean;
  /** Open loans allowed: the entitlement's `n`, else the policy's limit. */
  limit: number;
  /** Open loans this kiosk knows of for the member. */
  openLoans: number;
  item: CatalogueItem | undefined;
  /** Who holds the item as far as this kiosk knows. */
  holder: OpenLoan | undefined;
  policy: LoanPolicy | undefined;
  nowMs: number;
}

export type ItemDecision =
  | { decision: 'accept'; reason: 'ok'; action: 'loan' | 'renewal'; due: number; renewals: number }
  | { decision: 'deny'; reason: DenyReason; action: 'loan' | 'renewal'; why?: RenewRefusal | NotLoanable };

export function decideItem(f: ItemFacts): ItemDecision {
  const item = f.item;
  if (!item) return { decision: 'deny', reason: 'item_unknown', action: 'loan' };
  const rule = f.policy?.types[item.type];
  const heldForOther = item.holdFor !== undefined && item.holdFor !== f.sub;
  if (f.holder && f.holder.sub === f.sub) {
    const refuse = (why: RenewRefusal): ItemDecision => ({
      decision: 'deny',
      reason: 'renew_refused',
      action: 'renewal',
      why,
    });
    if (f.blocked) return refuse('member_blocked');
    if (heldForOther) return refuse('on_hold');
    if (!rule || rule.renewals === 0) return refuse('not_renewable');
    if (f.holder.renewals >= rule.renewals) return refuse('max_renewals');
    return {
      decision: 'accept',
      reason: 'ok',
      action: 'renewal',
      due: Math.max(dueDate(f.nowMs, rule), f.holder.due),
      renewals: f.holder.renewals + 1,
    };
  }
  const deny = (reason: DenyReason, why?: NotLoanable): ItemDecision => ({
    decision: 'deny',
    reason,
    action: 'loan',
    ...(why ? { why } : {}),
  });
  if (f.blocked) return deny('member_blocked');
  if (!item.loanable || !rule) return deny('item_not_loanable', 'reference');
  if (heldForOther) return deny('item_not_loanable', 'on_hold');
  if (f.holder) return deny('item_not_loanable', 'on_loan');
  if (f.openLoans >= f.limit) return deny('loan_limit');
  return { decision: 'accept', reason: 'ok', action: 'loan', due: dueDate(f.nowMs, rule), renewals: 0 };
}
