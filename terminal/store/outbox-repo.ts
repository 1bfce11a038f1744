// The outbox: events waiting for central's ack, with the per-terminal seq from a counter row (contiguous
// and never reused, even after acked events leave the outbox).
//
// Damage that PRAGMA quick_check does not see (a page whose bytes changed but still parse, one broken
// byte in a body, rows gone from a leaf) must not stall the sync: central holds a batch that starts past
// a gap forever, and refuses a batch with a malformed event, so the terminal would resend it forever.
// Reading the outbox therefore checks every row against the expected run of seqs and against central's
// own event check; a seq whose row is missing or unreadable is sent as a `record_lost` marker (the same
// marker `terminal recover` writes), written back to the outbox when the file lets us, and counted.
//
// After `terminal recover` lost the seq counter, the outbox is held (nothing is sent) until a signed ack
// from central (retained on t/{id}/ack) says how far central already is; events made since the recovery
// are then renumbered past it, so no seq is ever used for two different events.
import { encodeEvent, readEvent, type TerminalEvent } from '../../shared/events.js';
import type { Connection } from './db.js';

type Row = { seq: number; body: string };

export class OutboxRepo {
  private readonly stmts;
  /** Markers made in this process for rows that could not be rewritten (resent identically). */
  private readonly markers = new Map<number, TerminalEvent>();

  constructor(private readonly conn: Connection) {
    const db = conn.db;
    this.stmts = {
      nextSeq: db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'last_seq' RETURNING value").pluck(),
      insertEvent: db.prepare('INSERT INTO outbox (seq, kind, at, body) VALUES (?, ?, ?, ?)'),
      replaceEvent: db.prepare('INSERT OR REPLACE INTO outbox (seq, kind, at, body) VALUES (?, ?, ?, ?)'),
      pending: db.prepare('SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      one: db.prepare('SELECT seq, body FROM outbox WHERE seq = ?'),
      deleteAcked: db.prepare('DELETE FROM outbox WHERE seq <= ?'),
      after: db.prepare('SELECT seq, kind, at, body FROM outbox WHERE seq > ? ORDER BY seq DESC'),
      deleteAfter: db.prepare('DELETE FROM outbox WHERE seq > ?'),
    };
  }

  get lastSeq(): number {
    return this.conn.meta('last_seq');
  }
  get ackedSeq(): number {
    return this.conn.meta('acked_seq');
  }
  get depth(): number {
    return this.lastSeq - this.ackedSeq;
  }
  /** Outbox rows found missing or unreadable and sent as `record_lost` (since the database was made). */
  get damagedRows(): number {
    return this.conn.meta('outbox_damaged');
  }
  /** Recovery lost the seq counter: nothing is sent until central's ack says where it stands. */
  get held(): boolean {
    return this.conn.meta('seq_hold') === 1;
  }

  /** Inside the event's transaction (SqliteStore.commitEvent): takes the next seq and writes the event. */
  append(event: Omit<TerminalEvent, 'seq'>): TerminalEvent {
    const seq = this.stmts.nextSeq.get() as number;
    const full: TerminalEvent = { seq, ...event };
    this.stmts.insertEvent.run(seq, full.kind, full.at, JSON.stringify(full));
    return full;
  }
  /** After the event's transaction committed. */
  appended(seq: number): void {
    this.conn.rememberMeta('last_seq', seq);
  }

  /**
   * Up to `limit` events after `afterSeq` (and after the acked seq), contiguous: a missing or unreadable
   * row comes back as a `record_lost` marker. Empty while the outbox is held after a recovery.
   */
  pendingEvents(afterSeq: number, limit: number): TerminalEvent[] {
    if (this.held) return [];
    const from = Math.max(afterSeq, this.ackedSeq);
    const to = Math.min(this.lastSeq, from + limit);
    if (to <= from) return [];
    let rows: Row[];
    try {
      rows = this.stmts.pending.all(from, limit) as Row[];
    } catch {
      // The scan hit a damaged page: read row by row, what cannot be read becomes a marker.
      rows = [];
      for (let seq = from + 1; seq <= to; seq++) {
        try {
          const r = this.stmts.one.get(seq) as Row | undefined;
          if (r) rows.push(r);
        } catch {
          // unreadable
        }
      }
    }
    const bySeq = new Map<number, TerminalEvent>();
    for (const r of rows) {
      const e = parseRow(r);
      if (e) bySeq.set(r.seq, e);
    }
    const out: TerminalEvent[] = [];
    const damaged: TerminalEvent[] = [];
    let lastAt = 0;
    for (let seq = from + 1; seq <= to; seq++) {
      const e = bySeq.get(seq) ?? this.markers.get(seq);
      if (e) {
        lastAt = e.at;
        out.push(e);
        continue;
      }
      const marker: TerminalEvent = {
        seq,
        kind: 'record_lost',
        // The time of the event before it (or the latest event time): close to when it was made.
        at: lastAt || this.conn.meta('last_event_at'),
        data: { reason: 'outbox_row_unreadable' },
      };
      damaged.push(marker);
      out.push(marker);
    }
    if (damaged.length > 0) this.recordDamage(damaged);
    return out;
  }

  /** Central committed everything up to seq: those events leave the outbox. Idempotent; never past lastSeq. */
  acknowledge(seq: number): void {
    if (this.held) this.release(Math.floor(seq));
    const upTo = Math.min(Math.floor(seq), this.lastSeq);
    if (!(upTo > this.ackedSeq)) return;
    this.conn.db.transaction(() => {
      this.stmts.deleteAcked.run(upTo);
      this.conn.writeMeta('acked_seq', upTo);
    })();
    this.conn.rememberMeta('acked_seq', upTo);
    for (const s of this.markers.keys()) if (s <= upTo) this.markers.delete(s);
  }

  /**
   * The first signed ack after a recovery that lost the seq counter: central holds everything up to
   * `centralSeq`. Events made since the recovery (seq > recovered_seq) were never sent; when central is
   * already past them, they move to centralSeq + 1 … so their seqs are new to central. One transaction.
   */
  private release(centralSeq: number): void {
    const recovered = this.conn.meta('recovered_seq');
    const shift = Math.max(0, centralSeq - recovered);
    const lastSeq = this.lastSeq + shift;
    this.conn.db.transaction(() => {
      if (shift > 0) {
        const rows = this.stmts.after.all(recovered) as Array<{
          seq: number;
          kind: string;
          at: number;
          body: string;
        }>;
        this.stmts.deleteAfter.run(recovered);
        for (const r of rows) {
          const body = JSON.parse(r.body) as TerminalEvent;
          body.seq = r.seq + shift;
          this.stmts.insertEvent.run(body.seq, r.kind, r.at, JSON.stringify(body));
        }
        this.conn.writeMeta('last_seq', lastSeq);
      }
      this.conn.writeMeta('seq_hold', 0);
    })();
    this.conn.rememberMeta('last_seq', lastSeq);
    this.conn.rememberMeta('seq_hold', 0);
    this.onRelease?.(shift);
  }

  /** Told when a held outbox is released (the shift applied to the events made since the recovery). */
  onRelease: ((shift: number) => void) | undefined;

  private recordDamage(markers: TerminalEvent[]): void {
    for (const m of markers) this.markers.set(m.seq, m);
    const total = this.damagedRows + markers.length;
    try {
      this.conn.db.transaction(() => {
        for (const m of markers) this.stmts.replaceEvent.run(m.seq, m.kind, m.at, JSON.stringify(m));
        this.conn.writeMeta('outbox_damaged', total);
      })();
    } catch {
      // The damaged page cannot take the rewrite: the in-memory markers keep resends identical.
    }
    this.conn.rememberMeta('outbox_damaged', total);
    this.onDamage?.(markers.map((m) => m.seq));
  }

  /** Told when rows were found damaged (the daemon logs and counts it). */
  onDamage: ((seqs: number[]) => void) | undefined;
}

/** The row's event, when it passes the same check central applies and its seq matches the row. */
export function parseRow(r: Row): TerminalEvent | undefined {
  try {
    const e = readEvent(encodeEvent(JSON.parse(r.body) as TerminalEvent));
    return typeof e !== 'string' && e.seq === r.seq ? e : undefined;
  } catch {
    return undefined;
  }
}
