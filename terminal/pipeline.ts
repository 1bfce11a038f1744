// One typed scan (terminal/io/scan.ts) → verify → policy → event committed durably → only then the
// outputs. Decisions run one at a time (a turnstile has one mechanism); anything that throws becomes a
// deny, never an accept. Inputs parse their own bytes: a QR scan carries its text, a card scan its UID
// bytes, and each carries its input's direction, so nothing here re-parses text prefixes.
import { toHex } from '../shared/bytes.js';
import type { EventData, TerminalEvent } from '../shared/events.js';
import { REASON_TEXT, type Reason } from '../shared/reasons.js';
import { verify, type Decision } from '../shared/verify.js';
import type { CentralListVersions } from './central-lists.js';
import { cardHash } from '../shared/cards.js';
import type { TerminalClock } from './clock.js';
import type { TerminalConfig } from './config.js';
import type { TerminalBus } from './events.js';
import type { ScanResponse } from './io/device.js';
import { simulationLineToScan } from './io/lines.js';
import type { Scan } from './io/scan.js';
import type { TerminalMetrics } from './metrics.js';
import type { GateOutput } from './outputs/output.js';
import { decide, type Direction, type PolicyConfig } from './policy.js';
import {
  isStorageError,
  StorageFullError,
  type CommitEffects,
  type SqliteStore,
  type StorageError,
} from './store/sqlite.js';
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
  /** Central's announced list versions; without it only a missing trust list counts as lists_missing. */
  centralLists?: CentralListVersions;
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

  /** Decides one scan. Serialised: resolves after the event was committed and the outputs driven. */
  handleScan(scan: Scan): Promise<ScanResponse> {
    return this.enqueue(() => {
      this.deps.bus.emit('scan', { source: scan.input, kind: scan.kind });
      if (scan.kind === 'barcode') return Promise.resolve({ ignored: 'unsupported_scan' as const });
      return this.run(scan.input, () => this.evaluate(scan));
    });
  }

  /** A line in the stdin/TCP simulation syntax (`[in |out ]PG1:…` or `card:UIDHEX`), for the API and tests. */
  handle(line: string, source: string): Promise<ScanResponse> {
    const scan = simulationLineToScan(line, source, undefined, Date.now());
    if (!scan) return Promise.resolve({ ignored: 'garbage' });
    return this.handleScan(scan);
  }

  /**
   * Commits a non-decision event (a device fault) in order with the decisions. Never throws: a failure
   * is logged and counted like a failed decision commit.
   */
  record(kind: 'reader_fault' | 'tamper', data: EventData): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.enqueue(async () => {
      try {
        const e = this.deps.store.commitEvent({ kind, at: this.deps.clock.eventTimeMs(), data });
        this.deps.bus.emit('eventCommitted', { seq: e.seq });
      } catch (err) {
        this.storageFailures++;
        this.deps.logger.error({ err, kind }, 'could not record a device event');
      }
      return { ignored: 'empty' };
    }).then(() => undefined);
  }

  /**
   * An operator opens the gate once from afar (central's `open_gate_once`). Same serialised path as a
   * decision, and durable before visible: an `entry` accept with `data.remote = true` on the gate's
   * default direction is committed first, and only then are the outputs driven. If the commit fails
   * the gate stays closed (deny storage_failure), exactly as for a scanned code.
   */
  remoteOpen(source: string): Promise<ScanResponse> {
    return this.enqueue(() => this.run(source, () => this.remoteOutcome()));
  }

  private enqueue(task: () => Promise<ScanResponse>): Promise<ScanResponse> {
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
  private async run(source: string, evaluate: () => Outcome): Promise<ScanResponse> {
    const started = performance.now();
    const { config, store, bus, logger } = this.deps;
    let outcome: Outcome;
    let event: TerminalEvent | undefined;
    try {
      outcome = evaluate();
      event = store.commitEvent(this.toEvent(outcome), outcome.effects);
      this.storageFailing = false;
    } catch (err) {
      // Nothing was recorded, so nothing opens: a deny whatever the policy. storage_failure only when the
      // database failed (full disk, I/O error, …); anything else is a fault in the code: internal_error.
      const storage = isStorageError(err);
      const message = (err as Error).message;
      if (storage) {
        this.storageFailures++;
        this.storageFailing = true;
        if (err instanceof StorageFullError)
          logger.error({ err: message }, 'storage full: decision not recorded, gate stays closed');
        else logger.error({ err, code: (err as StorageError).code }, 'storage failed: gate stays closed');
        bus.emit('storageFailure', { message });
      } else logger.error({ err }, 'decision failed (internal error): gate stays closed');
      outcome = {
        decision: 'deny',
        reason: storage ? 'storage_failure' : 'internal_error',
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

  private evaluate(scan: Exclude<Scan, { kind: 'barcode' }>): Outcome {
    const { config, store, clock } = this.deps;
    const direction: Direction = scan.direction ?? config.directions[0]!;
    const nowMs = clock.eventTimeMs();
    const base = { direction, alerts: [] as string[], effects: {} as CommitEffects };
    if (!config.directions.includes(direction))
      return { ...base, decision: 'deny', reason: 'malformed', kind: 'entry' };

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
    if (scan.kind === 'card') {
      kind = 'card_tap';
      ages = ['cards', 'revocation'];
      const h = this.deps.cardKey ? cardHash(scan.uid, this.deps.cardKey) : undefined;
      hashHex = h ? toHex(h).slice(0, 32) : undefined;
      const binding = h ? store.verifier.cardBinding(h) : undefined;
      // Same order as a code: who (unknown/blocked), still valid, member not suspended; then the same
      // policy as a QR code with the card's own entitlements (docs/hardware.md: limits of UID cards).
      if (!binding) first = { decision: 'deny', reason: 'card_unknown' };
      else if (binding.blocked) first = { decision: 'deny', reason: 'card_blocked', sub: binding.sub };
      else if (binding.exp !== undefined && nowMs / 1000 >= binding.exp)
        first = { decision: 'deny', reason: 'cert_expired', sub: binding.sub };
      else if (store.verifier.isSuspended(binding.sub))
        first = { decision: 'deny', reason: 'member_suspended', sub: binding.sub };
      else first = { decision: 'accept', reason: 'ok', sub: binding.sub, entitlements: binding.ent };
    } else {
      ages = ['trust', 'revocation'];
      token = verify(scan.text, store.verifier, {
        now: Math.floor(nowMs / 1000),
        windowSeconds: config.verify.windowSeconds,
        skewSeconds: config.verify.skewSeconds,
        recordReplay: false,
      });
      // An issuer the terminal does not know, while its trust list is missing or behind central's: the
      // terminal's own state is at fault, not the credential.
      const reason: Reason =
        token.reason === 'unknown_issuer' && this.trustListBehind() ? 'lists_missing' : token.reason;
      first = { decision: token.decision, reason, ...(token.sub ? { sub: token.sub } : {}) };
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
      this.policy,
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

  private trustListBehind(): boolean {
    if (this.deps.centralLists) return this.deps.centralLists.behind('trust');
    return this.deps.store.lists.versions().trust === undefined;
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
    // The presentation's nonce lets central relay its replay key (cti:t:nonce) to every other terminal
    // and spot one presentation recorded by two terminals (docs/security.md).
    const nonce = o.token?.replayKey?.split(':')[2];
    if (o.cardHash || o.data || nonce)
      e.data = {
        ...o.data,
        ...(o.cardHash ? { card: o.cardHash } : {}),
        ...(nonce ? { nonce } : {}),
      };
    return e;
  }
}
