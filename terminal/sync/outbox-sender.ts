// The outbox sender: which batch goes out when. One batch in flight at a time; events leave the outbox
// only when central acks them; after a reconnect or an ack timeout, everything from the first unacked seq
// is sent again. No I/O: the transport sends, the SyncPort reads and acknowledges, Timers keeps time.
import type { Logger } from 'pino';
import type { TerminalEvent } from '../../shared/events.js';
import type { Timers } from './timers.js';

export interface Batch {
  fromSeq: number;
  toSeq: number;
  events: TerminalEvent[];
}

export interface OutboxSenderDeps {
  pendingEvents(afterSeq: number, limit: number): TerminalEvent[];
  acknowledge(seq: number): void;
  /** Hands a batch to the transport (fire and forget: a lost batch is resent after the ack timeout). */
  send(batch: Batch): void;
  timers: Timers;
  log: Pick<Logger, 'warn' | 'error'>;
  /** Events per batch (default 200, at most 500). */
  batchSize?: number;
  /** Resend the in-flight batch when no ack came within this (default 10 s). */
  ackTimeoutMs?: number;
}

interface InFlight {
  fromSeq: number;
  toSeq: number;
  timer: unknown;
}

export class OutboxSender {
  private inFlight: InFlight | undefined;
  private acked = 0;
  /** Highest seq sent on any batch: an ack beyond it names events this terminal never sent. */
  private sentUpTo = 0;
  /** Link up and the ack subscription confirmed: only then may batches go out. */
  private ready = false;

  constructor(private readonly deps: OutboxSenderDeps) {}

  /** Highest seq central has acknowledged in this run. */
  get ackedSeq(): number {
    return this.acked;
  }
  /** The batch waiting for its ack, if any. */
  get pending(): { fromSeq: number; toSeq: number } | undefined {
    return this.inFlight && { fromSeq: this.inFlight.fromSeq, toSeq: this.inFlight.toSeq };
  }

  /** The link can carry batches and acks (subscriptions confirmed): send from the first unacked seq. */
  linkUp(): void {
    this.ready = true;
    this.clearInFlight();
    this.drain();
  }

  /**
   * The link went down (or a new one is being set up): whatever was in flight is resent from the first
   * unacked seq once it is up. Its timer stops too, or it would later wipe the batch sent on the next
   * link (two batches in flight).
   */
  linkDown(): void {
    this.ready = false;
    this.clearInFlight();
  }

  /** Sends the next batch if the link is up and nothing is in flight. */
  drain(): void {
    if (!this.ready || this.inFlight) return;
    let events: TerminalEvent[];
    try {
      events = this.deps.pendingEvents(this.acked, Math.min(this.deps.batchSize ?? 200, 500));
    } catch (err) {
      this.deps.log.error({ err }, 'could not read the outbox');
      return;
    }
    if (events.length === 0) return;
    const fromSeq = events[0]!.seq;
    const toSeq = events[events.length - 1]!.seq;
    this.sentUpTo = Math.max(this.sentUpTo, toSeq);
    const entry: InFlight = {
      fromSeq,
      toSeq,
      timer: this.deps.timers.setTimeout(() => {
        if (this.inFlight !== entry) return; // superseded
        this.deps.log.warn({ fromSeq, toSeq }, 'no ack in time: resending from the first unacked event');
        this.inFlight = undefined;
        this.drain();
      }, this.deps.ackTimeoutMs ?? 10_000),
    };
    this.inFlight = entry;
    this.deps.send({ fromSeq, toSeq, events });
  }

  /** A verified cumulative ack: central committed everything up to seq. */
  onAck(seq: number): void {
    if (seq > this.sentUpTo) {
      // Central acked seqs this terminal never sent: another holder of this terminal's key sent them
      // (central keeps both copies and alerts). Taking the ack at its word would skip our own events.
      this.deps.log.error(
        { centralAckedSeq: seq, sentUpTo: this.sentUpTo },
        'central acked events this terminal never sent: is its key copied? (see central status alerts)',
      );
      seq = this.sentUpTo;
    }
    if (seq < this.acked) {
      // Central once acked more than it holds now (restored from a backup, failed over to a replica
      // that lagged): the events in between were deleted here and cannot be sent again. Resending at
      // once would loop at network speed without progress; the ack timeout paces the resends instead.
      this.deps.log.error(
        { centralAckedSeq: seq, terminalAckedSeq: this.acked },
        'central lost events the terminal already deleted: operator action needed',
      );
      return;
    }
    // Equal too: the first ack after a recovery (possibly seq 0, retained at central) releases a held
    // outbox; acknowledge is idempotent otherwise.
    if (seq >= this.acked) {
      this.acked = seq;
      this.deps.acknowledge(seq);
    }
    if (this.inFlight && seq >= this.inFlight.toSeq) {
      this.clearInFlight();
      this.drain();
    } else if (this.inFlight && seq < this.inFlight.fromSeq - 1) {
      // Central is missing events before this batch that the outbox no longer holds: an immediate
      // resend would send the same batch again. The ack timeout paces the resends.
      this.deps.log.error(
        { centralAckedSeq: seq, firstUnackedSeq: this.inFlight.fromSeq },
        'central is missing events the terminal no longer has: operator action needed',
      );
    }
  }

  stop(): void {
    this.ready = false;
    this.clearInFlight();
  }

  private clearInFlight(): void {
    if (this.inFlight) this.deps.timers.clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
  }
}
