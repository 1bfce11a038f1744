// Ingest: a signed batch from t/{id}/events is verified with the terminal's enrollment key, committed
// (UNIQUE terminal, seq; one transaction) and answered with a cumulative ack on t/{id}/ack, signed with
// the list key the terminal pinned (so nobody on the network path can make it delete uncommitted events).
import type { Logger } from 'pino';
import { VerifyKey, type KeyPair } from '../shared/keys.js';
import { openBatch, signAck, topics } from '../shared/sync.js';
import type { CentralStore } from './store/types.js';
import type { TerminalEvent } from '../shared/events.js';

export interface IngestCounters {
  batches: number;
  inserted: number;
  duplicates: number;
  refused: number;
}

export class Ingest {
  private readonly keys = new Map<string, VerifyKey>();
  private readonly log: Logger;
  readonly counters: IngestCounters = { batches: 0, inserted: 0, duplicates: 0, refused: 0 };

  constructor(
    private readonly store: CentralStore,
    private readonly publish: (topic: string, payload: Uint8Array) => Promise<void>,
    logger: Logger,
    /** Signs acks: every worker holds the same list key. */
    private readonly listKey: KeyPair,
    /** Runs after the commit and before the ack (the loans ledger); a failure withholds the ack. */
    private readonly afterCommit?: (terminal: string, events: TerminalEvent[]) => Promise<void>,
  ) {
    this.log = logger.child({ component: 'ingest' });
  }

  private readonly chains = new Map<string, Promise<void>>();
  private pending = 0;

  /**
   * Queues a batch: batches of one terminal commit in order, different terminals commit concurrently
   * (PostgreSQL pool). Resolves at once unless too many are queued (backpressure on the broker link).
   * Safe because the terminal resends anything not acked in time.
   */
  async submit(terminal: string, bytes: Uint8Array, maxPending = 64): Promise<void> {
    this.pending++;
    const prev = this.chains.get(terminal) ?? Promise.resolve();
    const next = prev
      .then(() => this.handleBatch(terminal, bytes))
      .catch((err: Error) =>
        this.log.error({ err, terminal }, 'batch commit failed; the terminal will resend'),
      )
      .finally(() => {
        this.pending--;
        if (this.chains.get(terminal) === next) this.chains.delete(terminal);
      });
    this.chains.set(terminal, next);
    if (this.pending > maxPending) await next;
  }

  /** Waits for every queued batch. */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  /** Forget a cached key (after re-enrollment). */
  forget(terminal: string): void {
    this.keys.delete(terminal);
  }

  private async keyFor(terminal: string): Promise<VerifyKey | undefined> {
    let key = this.keys.get(terminal);
    if (!key) {
      const rec = await this.store.terminal(terminal);
      if (!rec) return undefined;
      key = new VerifyKey(rec.alg, rec.publicKey);
      this.keys.set(terminal, key);
    }
    return key;
  }

  async handleBatch(terminal: string, bytes: Uint8Array): Promise<void> {
    const key = await this.keyFor(terminal);
    if (!key) {
      this.counters.refused++;
      this.log.warn({ terminal }, 'refused a batch from an unknown terminal');
      return;
    }
    const batch = openBatch(bytes, key, terminal);
    if (typeof batch === 'string') {
      this.counters.refused++;
      this.log.warn({ terminal, why: batch }, 'refused a batch');
      return;
    }
    const result = await this.store.commitBatch(terminal, batch.events, Date.now());
    // Only the events the ack will cover: one past a gap is applied when the gap fills and it is resent.
    if (this.afterCommit)
      await this.afterCommit(
        terminal,
        batch.events.filter((e) => e.seq <= result.acked),
      );
    this.counters.batches++;
    this.counters.inserted += result.inserted;
    this.counters.duplicates += batch.events.length - result.inserted;
    const last = batch.events[batch.events.length - 1]!.seq;
    if (result.acked < last)
      this.log.info(
        { terminal, from: batch.fromSeq, acked: result.acked },
        'batch past a gap held until the gap fills',
      );
    const ack = signAck(this.listKey, { terminal, seq: result.acked, t: Date.now() });
    this.publish(topics.ack(terminal), ack).catch((err: Error) =>
      this.log.warn({ terminal, err: err.message }, 'could not publish an ack; the terminal will resend'),
    );
  }
}
