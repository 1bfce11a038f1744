// Ingest: a signed batch from t/{id}/events is verified with the terminal's enrollment key, committed
// (UNIQUE terminal, seq; one transaction) and answered with a cumulative ack on t/{id}/ack, signed with
// the list key the terminal pinned (so nobody on the network path can make it delete uncommitted events).
//
// A terminal's key may be stolen (docs/security.md), so a batch never displaces or pre-empts real events:
// a batch starting beyond acked + 1 stores nothing (the sync client sends contiguously; disaster recovery
// goes through `central accept-gap`), and a repeated seq with other content is kept in quarantine and
// raised as an alert. Per-terminal quotas (queued batches, event rate, events per day) keep one terminal
// from slowing the others: over the rate, its ack is delayed (backpressure); over the daily quota, its
// batches wait unacked until the day rolls over or an operator raises the quota.
import type { Logger } from 'pino';
import { VerifyKey, type KeyPair } from '../shared/keys.js';
import type { RelayedKey } from '../shared/replay-relay.js';
import { openBatch, signAck, topics } from '../shared/sync.js';
import { presentationKey } from './store/codec.js';
import type { AlertKind, CentralStore } from './store/types.js';
import type { TerminalEvent } from '../shared/events.js';

export interface IngestCounters {
  batches: number;
  inserted: number;
  duplicates: number;
  refused: number;
  /** Batches dropped unread because their terminal already had maxQueuedBatches waiting. */
  dropped: number;
  /** Batches delayed by the per-terminal event rate. */
  throttled: number;
  conflicts: number;
}

export interface IngestQuotas {
  /** Batches of one terminal waiting at central; more are dropped unread (the terminal resends). Default 2. */
  maxQueuedBatches: number;
  /** Sustained events per second per terminal before acks are delayed. Default 1,000. */
  eventsPerSecond: number;
  /** Events a terminal may send at once above the rate (an offline backlog). Default 20,000. */
  burstEvents: number;
  /** Events stored per terminal per rolling 24 h; past it, batches wait unacked. Default 1,000,000. */
  eventsPerDay: number;
}

export const DEFAULT_QUOTAS: IngestQuotas = {
  maxQueuedBatches: 2,
  eventsPerSecond: 1_000,
  burstEvents: 20_000,
  eventsPerDay: 1_000_000,
};

/** How long a relayed replay key lives past the presentation's t (covers window + skew of any config). */
export const RELAY_KEY_LIFETIME_S = 120;
/** One alert of a kind per terminal per this interval (the log still says every time). */
const ALERT_EVERY_MS = 60_000;
const DAY_MS = 24 * 3_600_000;

interface Budget {
  tokens: number;
  at: number;
  dayStart: number;
  dayEvents: number;
  queued: number;
}

export interface IngestOptions {
  quotas?: Partial<IngestQuotas>;
  /** Replay keys of newly stored presentations, to relay to every terminal. */
  onPresentations?: (keys: RelayedKey[]) => void;
  now?: () => number;
  /** A second key a batch may be signed with (a credential rotation in progress). */
  pendingKey?: (terminal: string) => VerifyKey | undefined;
  /** Runs after the commit and before the ack (the loans ledger); a failure withholds the ack. */
  afterCommit?: (terminal: string, events: TerminalEvent[]) => Promise<void>;
}

export class Ingest {
  private readonly keys = new Map<string, VerifyKey>();
  private readonly log: Logger;
  private readonly quotas: IngestQuotas;
  private readonly budgets = new Map<string, Budget>();
  private readonly lastAlert = new Map<string, number>();
  private readonly now: () => number;
  readonly counters: IngestCounters = {
    batches: 0,
    inserted: 0,
    duplicates: 0,
    refused: 0,
    dropped: 0,
    throttled: 0,
    conflicts: 0,
  };

  constructor(
    private readonly store: CentralStore,
    private readonly publish: (topic: string, payload: Uint8Array) => Promise<void>,
    logger: Logger,
    /** Signs acks: every worker holds the same list key. */
    private readonly listKey: KeyPair,
    private readonly opts: IngestOptions = {},
  ) {
    this.log = logger.child({ component: 'ingest' });
    this.quotas = { ...DEFAULT_QUOTAS, ...opts.quotas };
    this.now = opts.now ?? Date.now;
  }

  private readonly chains = new Map<string, Promise<void>>();
  private pending = 0;

  private budget(terminal: string): Budget {
    let b = this.budgets.get(terminal);
    if (!b) {
      const now = this.now();
      b = { tokens: this.quotas.burstEvents, at: now, dayStart: now, dayEvents: 0, queued: 0 };
      this.budgets.set(terminal, b);
    }
    return b;
  }

  /**
   * Queues a batch: batches of one terminal commit in order, different terminals commit concurrently
   * (PostgreSQL pool). Resolves at once unless too many are queued (backpressure on the broker link).
   * A terminal with maxQueuedBatches already waiting has the new one dropped unread: the sync client
   * keeps one batch in flight and resends on its ack timeout, so only a misbehaving client loses here.
   */
  async submit(terminal: string, bytes: Uint8Array, maxPending = 64): Promise<void> {
    const budget = this.budget(terminal);
    if (budget.queued >= this.quotas.maxQueuedBatches) {
      this.counters.dropped++;
      return;
    }
    budget.queued++;
    this.pending++;
    const prev = this.chains.get(terminal) ?? Promise.resolve();
    const next = prev
      .then(() => this.handleBatch(terminal, bytes))
      .catch((err: Error) =>
        this.log.error({ err, terminal }, 'batch commit failed; the terminal will resend'),
      )
      .finally(() => {
        this.pending--;
        budget.queued--;
        if (this.chains.get(terminal) === next) this.chains.delete(terminal);
      });
    this.chains.set(terminal, next);
    if (this.pending > maxPending) await next;
  }

  /** Waits for every queued batch. */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  /** Forget a cached key (after re-enrollment or retirement). */
  forget(terminal: string): void {
    this.keys.delete(terminal);
  }

  async keyFor(terminal: string): Promise<VerifyKey | undefined> {
    let key = this.keys.get(terminal);
    if (!key) {
      const rec = await this.store.terminal(terminal);
      if (!rec || rec.retiredAt !== undefined) return undefined;
      key = new VerifyKey(rec.alg, rec.publicKey);
      this.keys.set(terminal, key);
    }
    return key;
  }

  /** Logs every time; stores an alert at most once a minute per kind and terminal. */
  private async alert(
    kind: AlertKind,
    terminal: string,
    detail: Record<string, string | number | boolean>,
    message: string,
  ): Promise<void> {
    this.log.error({ alert: kind, terminal, ...detail }, message);
    const now = this.now();
    const k = `${kind}:${terminal}`;
    if (
      kind !== 'seq_conflict' &&
      kind !== 'replay_across_terminals' &&
      now - (this.lastAlert.get(k) ?? 0) < ALERT_EVERY_MS
    )
      return;
    this.lastAlert.set(k, now);
    await this.store.addAlert({ at: now, kind, terminal, detail });
  }

  /** Waits until the terminal's event rate allows `n` more events; false when the daily quota is used up. */
  private async admit(terminal: string, n: number): Promise<boolean> {
    const b = this.budget(terminal);
    const q = this.quotas;
    let now = this.now();
    if (now - b.dayStart >= DAY_MS) {
      b.dayStart = now;
      b.dayEvents = 0;
    }
    if (b.dayEvents + n > q.eventsPerDay) {
      await this.alert(
        'quota_storage',
        terminal,
        { eventsToday: b.dayEvents, quota: q.eventsPerDay },
        'terminal is over its daily event quota: its batches wait unacked',
      );
      return false;
    }
    b.tokens = Math.min(q.burstEvents, b.tokens + ((now - b.at) / 1000) * q.eventsPerSecond);
    b.at = now;
    if (b.tokens < n) {
      const waitMs = Math.ceil(((n - b.tokens) / q.eventsPerSecond) * 1000);
      this.counters.throttled++;
      await this.alert(
        'quota_rate',
        terminal,
        { eventsPerSecond: q.eventsPerSecond, delayMs: waitMs },
        'terminal sends faster than its event rate: its acks are delayed',
      );
      await new Promise((r) => setTimeout(r, waitMs));
      now = this.now();
      b.tokens = Math.min(q.burstEvents, b.tokens + ((now - b.at) / 1000) * q.eventsPerSecond);
      b.at = now;
    }
    b.tokens -= n;
    b.dayEvents += n;
    return true;
  }

  async handleBatch(terminal: string, bytes: Uint8Array): Promise<void> {
    const key = await this.keyFor(terminal);
    if (!key) {
      this.counters.refused++;
      this.log.warn({ terminal }, 'refused a batch from an unknown or retired terminal');
      return;
    }
    let batch = openBatch(bytes, key, terminal);
    const next = typeof batch === 'string' ? this.opts.pendingKey?.(terminal) : undefined;
    if (next) batch = openBatch(bytes, next, terminal);
    if (typeof batch === 'string') {
      this.counters.refused++;
      this.log.warn({ terminal, why: batch }, 'refused a batch');
      return;
    }
    if (!(await this.admit(terminal, batch.events.length))) return;
    const result = await this.store.commitBatch(terminal, batch.events, this.now());
    // Only the events the ack will cover: one past a gap is applied when the gap fills and it is resent.
    if (this.opts.afterCommit)
      await this.opts.afterCommit(
        terminal,
        batch.events.filter((e) => e.seq <= result.acked),
      );
    this.counters.batches++;
    this.counters.inserted += result.inserted;
    this.counters.duplicates += batch.events.length - result.inserted - result.conflicts.length;
    if (result.beyondAck) {
      this.counters.refused++;
      await this.alert(
        'batch_beyond_ack',
        terminal,
        { fromSeq: batch.fromSeq, ackedSeq: result.acked },
        'refused a batch that starts beyond the acked seq + 1: planted, or central lost events ' +
          '(after a restore from backup: passgate central accept-gap)',
      );
    }
    if (result.conflicts.length > 0) {
      this.counters.conflicts += result.conflicts.length;
      await this.alert(
        'seq_conflict',
        terminal,
        {
          seqs: result.conflicts.slice(0, 20).join(','),
          count: result.conflicts.length,
          ackedSeq: result.acked,
        },
        'a seq arrived again with other content: both copies kept (quarantine); another holder of this terminal key?',
      );
    }
    for (const x of result.crossTerminal)
      await this.alert(
        'replay_across_terminals',
        terminal,
        { seq: x.seq, otherTerminal: x.otherTerminal, otherSeq: x.otherSeq },
        'one presentation was recorded by two terminals (a copied code used while offline)',
      );
    if (result.inserted > 0 && this.opts.onPresentations) {
      const keys: RelayedKey[] = [];
      for (const e of batch.events) {
        const k = presentationKey(e);
        if (k && e.t !== undefined) keys.push({ key: k, expiresAt: e.t + RELAY_KEY_LIFETIME_S });
      }
      if (keys.length > 0) this.opts.onPresentations(keys);
    }
    const ack = signAck(this.listKey, { terminal, seq: result.acked, t: Date.now() });
    this.publish(topics.ack(terminal), ack).catch((err: Error) =>
      this.log.warn({ terminal, err: err.message }, 'could not publish an ack; the terminal will resend'),
    );
  }
}
