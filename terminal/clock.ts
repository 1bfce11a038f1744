// The trusted clock. A Pi has no RTC: the terminal keeps last-known-good time in SQLite, accepts signed
// beacons from central (offset applied in memory, this boot only), never moves backwards past the last
// committed event, and says 'untrusted' instead of guessing.
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

export type BeaconResult = { ok: true; jumpMs: number } | { ok: false; why: string };

export class TerminalClock {
  private offsetMs = 0;
  /** Monotonic ms when the last beacon was applied in this process, if any. */
  private beaconAtMono: number | undefined;

  constructor(
    private readonly persistence: ClockPersistence,
    private readonly listKey: VerifyKey,
    private readonly opts: { beaconMaxAgeHours: number },
    private readonly systemNow: () => number = Date.now,
    private readonly monoNow: () => number = () => performance.now(),
  ) {}

  /** Best estimate of now (unix ms): system time corrected by the last beacon. */
  nowMs(): number {
    return this.systemNow() + this.offsetMs;
  }

  /** The time to stamp an event with: never before the last committed event. */
  eventTimeMs(): number {
    return Math.max(this.nowMs(), this.persistence.record().lastEventAt);
  }

  state(): ClockState {
    const now = this.nowMs();
    const rec = this.persistence.record();
    if (now < PLAUSIBLE_EPOCH_MS) return 'untrusted';
    if (now < rec.lastEventAt - BACKWARDS_TOLERANCE_MS || now < rec.lastGoodMs - BACKWARDS_TOLERANCE_MS)
      return 'untrusted';
    if (
      this.beaconAtMono !== undefined &&
      this.monoNow() - this.beaconAtMono < this.opts.beaconMaxAgeHours * 3_600_000
    )
      return 'trusted';
    return 'degraded';
  }

  /** Verifies and applies a signed beacon. Refuses a replayed one and one that would go back past the last event. */
  applyBeacon(bytes: Uint8Array): BeaconResult {
    const beacon = openBeacon(bytes, this.listKey);
    if (typeof beacon === 'string') return { ok: false, why: beacon };
    const rec = this.persistence.record();
    if (beacon.seq <= rec.beaconSeq)
      return { ok: false, why: `beacon seq ${beacon.seq} is not newer than ${rec.beaconSeq}` };
    if (beacon.t < rec.lastEventAt - BACKWARDS_TOLERANCE_MS)
      return {
        ok: false,
        why: 'beacon time is before the last committed event; refusing to move the clock backwards',
      };
    const before = this.nowMs();
    const sys = this.systemNow();
    this.offsetMs = beacon.t - sys;
    this.beaconAtMono = this.monoNow();
    this.persistence.save({
      beaconSeq: beacon.seq,
      beaconT: beacon.t,
      beaconLocal: sys,
      lastGoodMs: Math.max(rec.lastGoodMs, beacon.t),
    });
    return { ok: true, jumpMs: beacon.t - before };
  }

  /** Persists now as last-known-good while the clock is believable (called periodically). */
  checkpoint(): void {
    if (this.state() === 'untrusted') return;
    const now = this.nowMs();
    if (now > this.persistence.record().lastGoodMs) this.persistence.save({ lastGoodMs: now });
  }
}
