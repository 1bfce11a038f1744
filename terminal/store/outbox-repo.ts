// The outbox: events waiting for central's ack, with the per-terminal seq from a counter row (contiguous
// and never reused, even after acked events leave the outbox).
import type { TerminalEvent } from '../../shared/events.js';
import type { Connection } from './db.js';

export class OutboxRepo {
  private readonly stmts;

  constructor(private readonly conn: Connection) {
    const db = conn.db;
    this.stmts = {
      nextSeq: db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'last_seq' RETURNING value").pluck(),
      insertEvent: db.prepare('INSERT INTO outbox (seq, kind, at, body) VALUES (?, ?, ?, ?)'),
      pending: db.prepare('SELECT body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').pluck(),
      deleteAcked: db.prepare('DELETE FROM outbox WHERE seq <= ?'),
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

  pendingEvents(afterSeq: number, limit: number): TerminalEvent[] {
    return (this.stmts.pending.all(Math.max(afterSeq, this.ackedSeq), limit) as string[]).map(
      (b) => JSON.parse(b) as TerminalEvent,
    );
  }

  /** Central committed everything up to seq: those events leave the outbox. Idempotent; never past lastSeq. */
  acknowledge(seq: number): void {
    const upTo = Math.min(Math.floor(seq), this.lastSeq);
    if (!(upTo > this.ackedSeq)) return;
    this.conn.db.transaction(() => {
      this.stmts.deleteAcked.run(upTo);
      this.conn.writeMeta('acked_seq', upTo);
    })();
    this.conn.rememberMeta('acked_seq', upTo);
  }
}
