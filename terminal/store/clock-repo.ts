// The clock state a terminal keeps across restarts: last-known-good time and the last time beacon.
import type { Connection, MetaKey } from './db.js';

export interface ClockRecord {
  lastGoodMs: number;
  lastEventAt: number;
  beaconSeq: number;
  beaconT: number;
  beaconLocal: number;
}

const COLUMNS: Record<keyof ClockRecord, MetaKey> = {
  lastGoodMs: 'last_good_ms',
  lastEventAt: 'last_event_at',
  beaconSeq: 'beacon_seq',
  beaconT: 'beacon_t',
  beaconLocal: 'beacon_local',
};

export class ClockRepo {
  constructor(private readonly conn: Connection) {}

  record(): ClockRecord {
    return {
      lastGoodMs: this.conn.meta('last_good_ms'),
      lastEventAt: this.conn.meta('last_event_at'),
      beaconSeq: this.conn.meta('beacon_seq'),
      beaconT: this.conn.meta('beacon_t'),
      beaconLocal: this.conn.meta('beacon_local'),
    };
  }

  save(update: Partial<ClockRecord>): void {
    const entries = Object.entries(update) as Array<[keyof ClockRecord, number]>;
    this.conn.db.transaction(() => {
      for (const [k, v] of entries) this.conn.writeMeta(COLUMNS[k], v);
    })();
    for (const [k, v] of entries) this.conn.rememberMeta(COLUMNS[k], v);
  }

  /** Inside the event's transaction: an event's time is known-good time, and the clock never goes back past it. */
  advanceTo(at: number): void {
    this.conn.writeMeta('last_event_at', Math.max(this.conn.meta('last_event_at'), at));
    this.conn.writeMeta('last_good_ms', Math.max(this.conn.meta('last_good_ms'), at));
  }
  /** After the event's transaction committed. */
  advanced(at: number): void {
    this.conn.rememberMeta('last_event_at', Math.max(this.conn.meta('last_event_at'), at));
    this.conn.rememberMeta('last_good_ms', Math.max(this.conn.meta('last_good_ms'), at));
  }
}
