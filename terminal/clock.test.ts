// Clock glitches (issue 13 item 6) on a TerminalClock with a scripted system and monotonic clock.
import { describe, expect, it } from 'vitest';
import { signBeacon } from '../shared/beacon.js';
import { generateKeyPair, VerifyKey } from '../shared/keys.js';
import { TerminalClock } from './clock.js';
import type { ClockRecord } from './store/clock-repo.js';

const T = Date.UTC(2026, 10, 23, 12);
const HOUR = 3_600_000;

function setup(record: Partial<ClockRecord> = {}) {
  const rec: ClockRecord = {
    lastGoodMs: 0,
    lastEventAt: 0,
    beaconSeq: 0,
    beaconT: 0,
    beaconLocal: 0,
    ...record,
  };
  const key = generateKeyPair('EdDSA');
  const time = { sys: T, mono: 1_000 };
  const clock = new TerminalClock(
    { record: () => rec, save: (u) => Object.assign(rec, u) },
    new VerifyKey('EdDSA', key.publicKey),
    { beaconMaxAgeHours: 24 },
    () => time.sys,
    () => time.mono,
  );
  /** Both clocks move on by ms (the system clock too, unless it is stuck). */
  const pass = (ms: number) => {
    time.sys += ms;
    time.mono += ms;
  };
  /** An event committed now, as SqliteStore.commitEvent records it. */
  const commit = () => {
    const at = clock.eventTimeMs();
    rec.lastEventAt = Math.max(rec.lastEventAt, at);
    rec.lastGoodMs = Math.max(rec.lastGoodMs, at);
    return at;
  };
  return { rec, key, time, clock, pass, commit };
}

describe('TerminalClock glitches', () => {
  it('clock 1 h back: untrusted, but time goes on from what is known (codes do not turn `future` after 30 s)', () => {
    const { clock, time, pass, commit } = setup();
    pass(1000);
    commit();
    const real = time.sys;
    time.sys -= HOUR; // the system clock steps back an hour
    expect(clock.state()).toBe('untrusted');
    pass(5 * 60_000); // five minutes later the clock is still behind
    expect(clock.state()).toBe('untrusted');
    // A wallet shows the real time; the terminal's estimate follows it to within the tolerance.
    expect(Math.abs(clock.nowMs() - (real + 5 * 60_000))).toBeLessThan(2_000);
    expect(commit()).toBeGreaterThanOrEqual(real + 5 * 60_000 - 2_000);
  });

  it('a +1 day glitch: a signed beacon moves the clock back and the jump is reported', () => {
    const { clock, key, time, rec, pass, commit } = setup();
    time.sys += 86_400_000; // 3 s of +1 day
    commit();
    pass(3000);
    time.sys -= 86_400_000; // back to normal
    expect(clock.state()).toBe('untrusted');
    expect(clock.nowMs()).toBeGreaterThan(T + 86_400_000); // everything would be `stale`
    const r = clock.applyBeacon(signBeacon(key, { t: time.sys, seq: time.sys }));
    expect(r.ok).toBe(true);
    expect(r.ok && r.jumpMs).toBeLessThan(-86_000_000);
    expect(clock.state()).toBe('trusted');
    expect(Math.abs(clock.nowMs() - time.sys)).toBeLessThan(10);
    expect(rec.lastEventAt).toBe(time.sys);
    // Later events are stamped with the corrected time.
    pass(1000);
    expect(commit()).toBe(time.sys);
    // The same beacon again (a replay) is refused.
    expect(clock.applyBeacon(signBeacon(key, { t: time.sys - 1000, seq: time.sys - 1000 })).ok).toBe(false);
  });

  it('after a restart while the clock is behind, time goes on from the stored floor', () => {
    const floor = T + HOUR;
    const { clock, pass } = setup({ lastEventAt: floor, lastGoodMs: floor });
    expect(clock.state()).toBe('untrusted');
    expect(clock.nowMs()).toBe(floor);
    pass(60_000);
    expect(clock.nowMs()).toBe(floor + 60_000);
  });
});
