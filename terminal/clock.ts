// The trusted clock. A Pi has no RTC: the terminal keeps last-known-good time in SQLite, accepts signed
// beacons from central (offset applied in memory, this boot only), and says 'untrusted' instead of
// guessing when the system clock is behind what it already knows.
//
// Two glitches shape it (docs/terminal.md, "Clock"):
// - The system clock steps back (an NTP fix, a dead RTC battery): the time already known stays the floor,
//   and from there time advances on the monotonic clock, so codes shown at the real time keep passing the
//   freshness check and the fail-open/closed policy holds for as long as the clock is untrusted (freezing
//   at the floor made every code `future` after 30 s).
// - The system clock jumps ahead and events get stamped in the future: a signed beacon from central is
//   the authority and may move the clock back, past the last event (events stay ordered by their seq);
//   the jump is recorded as a clock_jump event. Replay is excluded by the beacon's strictly increasing seq.
import { openBeacon } from '../shared/beacon.js';
import type { VerifyKey } from '../shared/keys.js';
import type { ClockState } from '../shared/sync.js';
import type { ClockRecord } from './store/clock-repo.js';

export interface ClockPersistence {
  record(): ClockRecord;
  save(update: Partial<ClockRecord>): void;
}

/** Earliest wall time a terminal will believe without a beacon (a Pi boots at 1970). */
export const PLAUSIBLE_EPOCH_MS = Date.UTC(2024, 0, 1);
/** Small backwards steps (NTP slews, rounding) inside this tolerance are not a jump. */
const BACKWARDS_TOLERANCE_MS = 2_000;
/**
 * A beacon is read after it was signed (broker hops, a busy machine), so it always says a little less than
 * the true time. When the clock is ahead of a beacon by less than this, the beacon confirms it rather than
 * setting it back by the delivery delay (which made fresh credentials `not_yet_valid` under load).
 */
const BEACON_LATENCY_MS = 5_000;

export type BeaconResult =
  { ok: true; jumpMs: number; lists?: Record<string, number> } | { ok: false; why: string };

export class TerminalClock {
  private offsetMs = 0;
  /** Monotonic ms when the last beacon was applied in this process, if any. */
  private beaconAtMono: number | undefined;
  /** The last believable time and when it was read on the monotonic clock (see nowMs). */
  private anchor: { wall: number; mono: number } | undefined;

  constructor(
    private readonly persistence: ClockPersistence,
    private readonly listKey: VerifyKey,
    private readonly opts: { beaconMaxAgeHours: number },
    private readonly systemNow: () => number = Date.now,
    private readonly monoNow: () => number = () => performance.now(),
  ) {}

  /** System time corrected by the last beacon: what the machine says now. */
  private systemTimeMs(): number {
    return this.systemNow() + this.offsetMs;
  }

  /** The time already known to have passed: the last committed event and the last good time. */
  private floorMs(): number {
    const rec = this.persistence.record();
    return Math.max(rec.lastEventAt, rec.lastGoodMs);
  }

  /**
   * Best estimate of now (unix ms). While the system time is believable (not behind what is known),
   * that; when it falls behind, the known time carried forward on the monotonic clock.
   */
  nowMs(): number {
    const sys = this.systemTimeMs();
    const floor = this.floorMs();
    const mono = this.monoNow();
    if (sys >= floor - BACKWARDS_TOLERANCE_MS && sys >= PLAUSIBLE_EPOCH_MS) {
      this.anchor = { wall: sys, mono };
      return sys;
    }
    this.anchor ??= { wall: floor, mono };
    return Math.max(floor, this.anchor.wall + (mono - this.anchor.mono));
  }

  /** The time to stamp an event with: never before the last committed event. */
  eventTimeMs(): number {
    return Math.max(this.nowMs(), this.persistence.record().lastEventAt);
  }

  state(): ClockState {
    const now = this.systemTimeMs();
    if (now < PLAUSIBLE_EPOCH_MS) return 'untrusted';
    if (now < this.floorMs() - BACKWARDS_TOLERANCE_MS) return 'untrusted';
    if (
      this.beaconAtMono !== undefined &&
      this.monoNow() - this.beaconAtMono < this.opts.beaconMaxAgeHours * 3_600_000
    )
      return 'trusted';
    return 'degraded';
  }

  /**
   * Verifies and applies a signed beacon; refuses a replayed one (seq not newer). A beacon may move the
   * clock back past the last event: that corrects a clock that had jumped ahead (the caller records the
   * jump as a clock_jump event), and the known-good times go back with it.
   */
  applyBeacon(bytes: Uint8Array): BeaconResult {
    const beacon = openBeacon(bytes, this.listKey);
    if (typeof beacon === 'string') return { ok: false, why: beacon };
    const rec = this.persistence.record();
    if (beacon.seq <= rec.beaconSeq)
      return { ok: false, why: `beacon seq ${beacon.seq} is not newer than ${rec.beaconSeq}` };
    const before = this.nowMs();
    const sys = this.systemNow();
    const behindBy = before - beacon.t;
    if (!(behindBy >= 0 && behindBy < BEACON_LATENCY_MS)) this.offsetMs = beacon.t - sys;
    this.beaconAtMono = this.monoNow();
    this.anchor = { wall: beacon.t, mono: this.beaconAtMono };
    const back = beacon.t < this.floorMs() - BACKWARDS_TOLERANCE_MS;
    this.persistence.save({
      beaconSeq: beacon.seq,
      beaconT: beacon.t,
      beaconLocal: sys,
      lastGoodMs: back ? beacon.t : Math.max(rec.lastGoodMs, beacon.t),
      ...(back ? { lastEventAt: beacon.t } : {}),
    });
    return {
      ok: true,
      jumpMs: this.nowMs() - before,
      ...(beacon.lists ? { lists: beacon.lists } : {}),
    };
  }

  /** Persists now as last-known-good while the clock is believable (called periodically). */
  checkpoint(): void {
    if (this.state() === 'untrusted') return;
    const now = this.nowMs();
    if (now > this.persistence.record().lastGoodMs) this.persistence.save({ lastGoodMs: now });
  }
}
