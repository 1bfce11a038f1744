// The terminal's policy after the token checks: pure functions of (verified token, local state, config)
// → {decision, reason}. Order (first failure wins, as in docs/terminal.md): not_entitled · anti_passback ·
// capacity_full · clock_untrusted · lists_stale. A refusal is a value, never an exception.
import type { Entitlement } from '../shared/credential.js';
import type { Reason } from '../shared/reasons.js';
import type { ClockState } from '../shared/sync.js';
import { matchEntitlement, type EntitlementRequirement } from '../shared/verify.js';

export type Direction = 'in' | 'out';
export type Staleness = 'fresh' | 'warn' | 'fail';

export interface PolicyConfig {
  /** Null: no entitlement check. Cards and codes both meet the place's requirement with their entitlements. */
  requirement: EntitlementRequirement | null;
  antiPassbackSeconds: number;
  /** 0 = unlimited. */
  capacity: number;
  clockFailOpen: boolean;
  staleness: { warnHours: number; failHours: number; failOpen: boolean };
}

export interface PolicyInput {
  /** The token (or card) outcome so far. */
  decision: 'accept' | 'deny';
  reason: Reason;
  entitlements?: readonly Entitlement[];
  direction: Direction;
  /** Unix ms on the terminal clock. */
  nowMs: number;
  lastPassage?: { direction: Direction; at: number } | undefined;
  occupancy: number;
  clock: ClockState;
  /** Age of the oldest list the decision relied on; undefined when a list was never loaded. */
  listAgeHours: number | undefined;
}

export interface PolicyOutcome {
  decision: 'accept' | 'deny';
  reason: Reason;
  /** Change to the occupancy counter when this outcome is committed. */
  occupancyDelta: number;
  /** Accepted despite a degraded condition (fail-open): logged loudly and counted. */
  alerts: Array<'clock_untrusted' | 'lists_stale' | 'lists_warn'>;
}

export function isEntitled(
  ent: readonly Entitlement[] | undefined,
  req: EntitlementRequirement | null,
): boolean {
  return req === null || matchEntitlement(ent ?? [], req) !== undefined;
}

/** Same subject, same gate, same direction again inside the window: a card or code passed back. */
export function violatesAntiPassback(
  last: { direction: Direction; at: number } | undefined,
  direction: Direction,
  nowMs: number,
  windowSeconds: number,
): boolean {
  if (!last || windowSeconds <= 0) return false;
  return last.direction === direction && nowMs - last.at < windowSeconds * 1000 && nowMs >= last.at;
}

/** Only entries count against capacity; an exit is always let out. */
export function atCapacity(occupancy: number, capacity: number, direction: Direction): boolean {
  return direction === 'in' && capacity > 0 && occupancy >= capacity;
}

export function listStaleness(
  ageHours: number | undefined,
  policy: { warnHours: number; failHours: number },
): Staleness {
  if (ageHours === undefined || ageHours >= policy.failHours) return 'fail';
  return ageHours >= policy.warnHours ? 'warn' : 'fresh';
}

export function decide(input: PolicyInput, config: PolicyConfig): PolicyOutcome {
  const deny = (reason: Reason): PolicyOutcome => ({
    decision: 'deny',
    reason,
    occupancyDelta: 0,
    alerts: [],
  });
  if (input.decision === 'deny') return deny(input.reason);
  if (!isEntitled(input.entitlements, config.requirement)) return deny('not_entitled');
  if (violatesAntiPassback(input.lastPassage, input.direction, input.nowMs, config.antiPassbackSeconds))
    return deny('anti_passback');
  if (atCapacity(input.occupancy, config.capacity, input.direction)) return deny('capacity_full');
  const alerts: PolicyOutcome['alerts'] = [];
  if (input.clock === 'untrusted') {
    if (!config.clockFailOpen) return deny('clock_untrusted');
    alerts.push('clock_untrusted');
  }
  const staleness = listStaleness(input.listAgeHours, config.staleness);
  if (staleness === 'fail') {
    if (!config.staleness.failOpen) return deny('lists_stale');
    alerts.push('lists_stale');
  } else if (staleness === 'warn') alerts.push('lists_warn');
  return { decision: 'accept', reason: 'ok', occupancyDelta: input.direction === 'in' ? 1 : -1, alerts };
}
