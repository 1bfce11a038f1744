// One input line → verify → policy → event committed durably → only then the output. Decisions run one
// at a time (a turnstile has one mechanism); anything that throws becomes a deny, never an accept.
import { toHex } from '../shared/bytes.js';
import type { EventData, TerminalEvent } from '../shared/events.js';
import { REASON_TEXT, type Reason } from '../shared/reasons.js';
import { verify, type Decision } from '../shared/verify.js';
import { cardHash, parseUid } from './cards.js';
import type { TerminalClock } from './clock.js';
import type { TerminalConfig } from './config.js';
import type { TerminalBus } from './events.js';
import type { LineResponse } from './inputs/line-input.js';
import type { TerminalMetrics } from './metrics.js';
import type { GateOutput } from './outputs/output.js';
import { decide, type Direction, type PolicyConfig } from './policy.js';
import { StorageFullError, type CommitEffects, type SqliteStore } from './store/sqlite.js';
import type { Logger } from 'pino';

export interface PipelineDeps {
  config: TerminalConfig;
  store: SqliteStore;
  clock: TerminalClock;
  bus: TerminalBus;
  metrics: TerminalMetrics;
  outputs: GateOutput[];
  logger: Logger;
  /** Fleet card key (HMAC-SHA-256 of UIDs); without it every card is card_unknown. */
  cardKey?: Uint8Array;
}

interface Outcome {
  decision: 'accept' | 'deny';
  reason: Reason;
  kind: 'entry' | 'card_tap';
  direction: Direction;
  token?: Decision;
  sub?: string;
  cardHash?: string;
  /** Extra event data (e.g. `remote: true` for an operator's open). */
  data?: EventData;
  alerts: string[];
  effects: CommitEffects;
}

const DIRECTION_PREFIX = /^(in|out) (.+)$/;
const CARD_PREFIX = /^card:(.+)$/i;

export class DecisionPipeline {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  storageFailures = 0;
  /** True after a commit failed, until the next one succeeds (health reports it). */
  storageFailing = false;
  readonly alerts: Record<string, number> = {};
  private readonly policy: PolicyConfig;

  constructor(private readonly deps: PipelineDeps) {
    const c = deps.config;
    this.policy = {
      requirement: c.requirement,
      antiPassbackSeconds: c.antiPassbackSeconds,
      capacity: c.capacity,
      clockFailOpen: c.clock.failOpen,
      staleness: c.staleness,
    };
  }

  /** Decides one (already hygienic) line. Serialised: resolves after the output was driven. */
  handle(line: string, source: string): Promise<LineResponse> {
    return this.enqueue(() => {
      this.deps.bus.emit('scan', { source });
      return this.run(source, () => this.evaluate(line));
    });
  }

  /**
   * An operator opens the gate once from afar (central's `open_gate_once`). Same serialised path as a
   * decision, and durable before visible: an `entry` accept with `data.remote = true` on the gate's
   * default direction is committed first, and only then are the outputs driven. If the commit fails
   * the gate stays closed (deny storage_failure), exactly as for a scanned code.
   */
  remoteOpen(source: string): Promise<LineResponse> {
    return this.enqueue(() => this.run(source, () => this.remoteOutcome()));
  }

  private enqueue(task: () => Promise<LineResponse>): Promise<LineResponse> {
    if (this.closed) return Promise.resolve({ ignored: 'shutting_down' });
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops taking lines and waits for the decision in flight. */
  async drain(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  /** Evaluates, commits, then drives the outputs: anything that throws before the commit is a deny. */
  private async run(source: string, evaluate: () => Outcome): Promise<LineResponse> {
    const started = performance.now();
    const { config, store, bus, logger } = this.deps;
    let outcome: Outcome;
    let event: TerminalEvent | undefined;
    try {
      outcome = evaluate();
      event = store.commitEvent(this.toEvent(outcome), outcome.effects);
      this.storageFailing = false;
    } catch (err) {
      // Nothing was recorded, so nothing opens: storage_failure is a deny whatever the policy.
      this.storageFailures++;
      this.storageFailing = true;
      const message = (err as Error).message;
      if (err instanceof StorageFullError)
        logger.error({ err: message }, 'storage full: decision not recorded, gate stays closed');
      else logger.error({ err }, 'decision failed: gate stays closed');
      bus.emit('storageFailure', { message });
      outcome = {
        decision: 'deny',
        reason: 'storage_failure',
        kind: 'entry',
        direction: config.directions[0]!,
        alerts: [],
        effects: {},
      };
    }
    const seq = event?.seq ?? null;
    if (event) bus.emit('eventCommitted', { seq: event.seq });
    for (const output of this.deps.outputs) {
      try {
        await output.show({
          decision: outcome.decision,
          reason: outcome.reason,
          seq,
          gate: config.gate,
          direction: outcome.direction,
          text: REASON_TEXT[outcome.reason],
        });
      } catch (err) {
        logger.error({ err, output: output.name }, 'output failed');
      }
    }
    const latencyMs = performance.now() - started;
    for (const a of outcome.alerts) this.alerts[a] = (this.alerts[a] ?? 0) + 1;
    this.deps.metrics.observeDecision(outcome.decision, outcome.reason, latencyMs);
    const entry = {
      seq,
      decision: outcome.decision,
      reason: outcome.reason,
      direction: outcome.direction,
      source,
      ms: +latencyMs.toFixed(2),
    };
    if (outcome.alerts.length > 0) logger.warn({ ...entry, alerts: outcome.alerts }, 'decision (fail-open)');
    else logger.info(entry, 'decision');
    bus.emit('decision', { seq, decision: outcome.decision, reason: outcome.reason, latencyMs, source });
    return { decision: outcome.decision, reason: outcome.reason, seq };
  }

  /** The remote open: an accepted entry on the default direction, counted like any passage. */
  private remoteOutcome(): Outcome {
    const direction: Direction = this.deps.config.directions[0]!;
    return {
      decision: 'accept',
      reason: 'ok',
      kind: 'entry',
      direction,
      data: { remote: true },
      alerts: [],
      effects: { occupancyDelta: direction === 'in' ? 1 : -1 },
    };
  }

  private evaluate(rawLine: string): Outcome {
    const { config, store, clock } = this.deps;
    let line = rawLine;
    let direction: Direction = config.directions[0]!;
    const prefixed = DIRECTION_PREFIX.exec(line);
    if (prefixed) {
      direction = prefixed[1] as Direction;
      line = prefixed[2]!;
    }
    const nowMs = clock.eventTimeMs();
    const base = { direction, alerts: [] as string[], effects: {} as CommitEffects };
    if (!config.directions.includes(direction))
      return { ...base, decision: 'deny', reason: 'malformed', kind: 'entry' };

    const card = CARD_PREFIX.exec(line);
    let first: {
      decision: 'accept' | 'deny';
      reason: Reason;
      sub?: string;
      entitlements?: Decision['entitlements'];
    };
    let kind: Outcome['kind'] = 'entry';
    let token: Decision | undefined;
    let hashHex: string | undefined;
    let ages: Array<'trust' | 'revocation' | 'cards'>;
    if (card) {
      kind = 'card_tap';
      ages = ['cards', 'revocation'];
      const uid = parseUid(card[1]!);
      if (!uid) return { ...base, decision: 'deny', reason: 'malformed', kind };
      const h = this.deps.cardKey ? cardHash(uid, this.deps.cardKey) : undefined;
      hashHex = h ? toHex(h).slice(0, 32) : undefined;
      const binding = h ? store.verifier.cardBinding(h) : undefined;
      if (!binding) first = { decision: 'deny', reason: 'card_unknown' };
      else if (binding.blocked) first = { decision: 'deny', reason: 'card_blocked', sub: binding.sub };
      else if (store.verifier.isSuspended(binding.sub))
        first = { decision: 'deny', reason: 'member_suspended', sub: binding.sub };
      else first = { decision: 'accept', reason: 'ok', sub: binding.sub };
    } else {
      ages = ['trust', 'revocation'];
      token = verify(line, store.verifier, {
        now: Math.floor(nowMs / 1000),
        windowSeconds: config.verify.windowSeconds,
        skewSeconds: config.verify.skewSeconds,
        recordReplay: false,
      });
      first = { decision: token.decision, reason: token.reason, ...(token.sub ? { sub: token.sub } : {}) };
      if (token.entitlements) first.entitlements = token.entitlements;
    }

    const sub = first.sub;
    const outcome = decide(
      {
        decision: first.decision,
        reason: first.reason,
        ...(first.entitlements ? { entitlements: first.entitlements } : {}),
        direction,
        nowMs,
        ...(sub && first.decision === 'accept'
          ? { lastPassage: store.verifier.lastPassage(sub, config.gate) }
          : {}),
        occupancy: store.verifier.occupancy,
        clock: clock.state(),
        listAgeHours: this.listAgeHours(ages, nowMs),
      },
      card ? { ...this.policy, requirement: null } : this.policy,
    );
    const effects: CommitEffects = {};
    // The presentation was consumed whatever the policy said: it can't be shown again.
    if (token?.replayKey && token.replayExpiresAt)
      effects.replay = { key: token.replayKey, expiresAt: token.replayExpiresAt };
    if (outcome.decision === 'accept') {
      if (sub) effects.passage = { sub, gate: config.gate, direction, at: nowMs };
      if (outcome.occupancyDelta) effects.occupancyDelta = outcome.occupancyDelta;
    }
    return {
      decision: outcome.decision,
      reason: outcome.reason,
      kind,
      direction,
      ...(token ? { token } : {}),
      ...(sub ? { sub } : {}),
      ...(hashHex ? { cardHash: hashHex } : {}),
      alerts: outcome.alerts,
      effects,
    };
  }

  /** Age in hours of the oldest list the decision relies on; undefined when one was never loaded. */
  private listAgeHours(types: readonly string[], nowMs: number): number | undefined {
    const versions = this.deps.store.lists.versions() as Record<string, { issuedAt: number } | undefined>;
    let oldest = 0;
    for (const t of types) {
      const v = versions[t];
      if (!v) return undefined;
      oldest = Math.max(oldest, (nowMs / 1000 - v.issuedAt) / 3600);
    }
    return oldest;
  }

  private toEvent(o: Outcome): Omit<TerminalEvent, 'seq'> {
    const e: Omit<TerminalEvent, 'seq'> = {
      kind: o.kind,
      at: this.deps.clock.eventTimeMs(),
      decision: o.decision,
      reason: o.reason,
      gate: this.deps.config.gate,
      direction: o.direction,
    };
    if (o.token?.cti) e.cti = o.token.cti;
    if (o.sub) e.sub = o.sub;
    if (o.token?.t !== undefined) e.t = o.token.t;
    if (o.cardHash || o.data) e.data = { ...o.data, ...(o.cardHash ? { card: o.cardHash } : {}) };
    return e;
  }
}
