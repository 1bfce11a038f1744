import { describe, expect, it } from 'vitest';
import {
  atCapacity,
  decide,
  listStaleness,
  violatesAntiPassback,
  type PolicyConfig,
  type PolicyInput,
} from './policy.js';

const config: PolicyConfig = {
  requirement: { k: 'venue', v: 'zoo' },
  antiPassbackSeconds: 300,
  capacity: 10,
  clockFailOpen: false,
  staleness: { warnHours: 24, failHours: 72, failOpen: false },
};
const now = Date.UTC(2025, 5, 1);
const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  decision: 'accept',
  reason: 'ok',
  entitlements: [{ k: 'venue', v: 'zoo' }],
  direction: 'in',
  nowMs: now,
  occupancy: 0,
  clock: 'trusted',
  listAgeHours: 1,
  ...over,
});

describe('policy', () => {
  it('accepts a valid entry and counts it', () => {
    expect(decide(input(), config)).toEqual({
      decision: 'accept',
      reason: 'ok',
      occupancyDelta: 1,
      alerts: [],
    });
    expect(decide(input({ direction: 'out' }), config).occupancyDelta).toBe(-1);
  });

  it('passes a token denial through unchanged', () => {
    expect(decide(input({ decision: 'deny', reason: 'revoked', clock: 'untrusted' }), config)).toMatchObject({
      decision: 'deny',
      reason: 'revoked',
    });
  });

  it('checks the role entitlement', () => {
    expect(decide(input({ entitlements: [{ k: 'library' }] }), config).reason).toBe('not_entitled');
    expect(decide(input({ entitlements: [{ k: 'venue', v: 'museum' }] }), config).reason).toBe(
      'not_entitled',
    );
    expect(decide(input({ entitlements: [{ k: 'venue' }] }), config).reason).toBe('ok');
    expect(decide(input({ entitlements: [] }), { ...config, requirement: null }).reason).toBe('ok');
  });

  it('anti-passback: same direction inside the window only', () => {
    expect(violatesAntiPassback({ direction: 'in', at: now - 10_000 }, 'in', now, 300)).toBe(true);
    expect(violatesAntiPassback({ direction: 'in', at: now - 301_000 }, 'in', now, 300)).toBe(false);
    expect(violatesAntiPassback({ direction: 'out', at: now - 10_000 }, 'in', now, 300)).toBe(false);
    expect(violatesAntiPassback({ direction: 'in', at: now - 10_000 }, 'in', now, 0)).toBe(false);
    expect(violatesAntiPassback(undefined, 'in', now, 300)).toBe(false);
    expect(decide(input({ lastPassage: { direction: 'in', at: now - 1000 } }), config).reason).toBe(
      'anti_passback',
    );
  });

  it('capacity counts entries, always lets people out', () => {
    expect(atCapacity(10, 10, 'in')).toBe(true);
    expect(atCapacity(9, 10, 'in')).toBe(false);
    expect(atCapacity(10, 10, 'out')).toBe(false);
    expect(atCapacity(1e6, 0, 'in')).toBe(false);
    expect(decide(input({ occupancy: 10 }), config).reason).toBe('capacity_full');
    expect(decide(input({ occupancy: 10, direction: 'out' }), config).reason).toBe('ok');
  });

  it('untrusted clock: fail closed or open with an alert', () => {
    expect(decide(input({ clock: 'untrusted' }), config).reason).toBe('clock_untrusted');
    expect(decide(input({ clock: 'untrusted' }), { ...config, clockFailOpen: true })).toMatchObject({
      decision: 'accept',
      alerts: ['clock_untrusted'],
    });
    expect(decide(input({ clock: 'degraded' }), config).decision).toBe('accept');
  });

  it('list staleness: warn, then fail closed or open', () => {
    expect(listStaleness(1, config.staleness)).toBe('fresh');
    expect(listStaleness(24, config.staleness)).toBe('warn');
    expect(listStaleness(72, config.staleness)).toBe('fail');
    expect(listStaleness(undefined, config.staleness)).toBe('fail');
    expect(decide(input({ listAgeHours: 30 }), config)).toMatchObject({
      decision: 'accept',
      alerts: ['lists_warn'],
    });
    expect(decide(input({ listAgeHours: 100 }), config).reason).toBe('lists_stale');
    const open = { ...config, staleness: { ...config.staleness, failOpen: true } };
    expect(decide(input({ listAgeHours: 100 }), open)).toMatchObject({
      decision: 'accept',
      alerts: ['lists_stale'],
    });
  });

  it('follows the documented order: entitlement before anti-passback before capacity before clock', () => {
    const all = input({
      entitlements: [],
      lastPassage: { direction: 'in', at: now },
      occupancy: 99,
      clock: 'untrusted',
      listAgeHours: 999,
    });
    expect(decide(all, config).reason).toBe('not_entitled');
    expect(decide({ ...all, entitlements: [{ k: 'venue' }] }, config).reason).toBe('anti_passback');
    expect(decide({ ...all, entitlements: [{ k: 'venue' }], lastPassage: undefined }, config).reason).toBe(
      'capacity_full',
    );
    expect(
      decide({ ...all, entitlements: [{ k: 'venue' }], lastPassage: undefined, occupancy: 0 }, config).reason,
    ).toBe('clock_untrusted');
  });
});
