// The daemon's SyncPort: what the MQTT sync client (terminal/adapters/mqtt-sync.ts) calls. Backed by
// the SQLite store, the clock and the bus; all methods are synchronous and safe between decisions.
import type { TerminalEvent } from '../shared/events.js';
import type { VerifyKey } from '../shared/keys.js';
import type { TerminalStatus } from '../shared/sync.js';
import type { Logger } from 'pino';
import type { CentralListVersions } from './central-lists.js';
import type { TerminalClock } from './clock.js';
import type { TerminalConfig } from './config.js';
import type { TerminalBus } from './events.js';
import { applySignedListBytes } from './lists.js';
import { openReplayKeys } from '../shared/replay-relay.js';
import type { SqliteStore } from './store/sqlite.js';
import type { ListApplyResult, SyncPort } from './sync-port.js';

/** A beacon that moves the clock by more than this is recorded as a clock_jump event. */
const JUMP_EVENT_MS = 60_000;

export class TerminalSyncPort implements SyncPort {
  readonly terminalId: string;

  constructor(
    private readonly deps: {
      config: TerminalConfig;
      store: SqliteStore;
      clock: TerminalClock;
      bus: TerminalBus;
      listKey: VerifyKey;
      logger: Logger;
      /** Central's announced list versions (from beacons). */
      centralLists?: CentralListVersions;
      readers?: () => Record<string, string>;
    },
  ) {
    this.terminalId = deps.config.terminalId;
  }

  pendingEvents(afterSeq: number, limit: number): TerminalEvent[] {
    return this.deps.store.outbox.pendingEvents(afterSeq, Math.max(1, Math.min(limit, 5000)));
  }

  acknowledge(seq: number): void {
    const { outbox } = this.deps.store;
    const held = outbox.held;
    outbox.acknowledge(seq);
    // Released after a recovery: the sender found nothing to send while held; wake it.
    if (held && !outbox.held) this.deps.bus.emit('eventCommitted', { seq: outbox.lastSeq });
  }

  applySignedList(bytes: Uint8Array): ListApplyResult {
    const result = applySignedListBytes(
      this.deps.store,
      this.deps.listKey,
      bytes,
      this.deps.clock.eventTimeMs(),
    );
    if (result.outcome === 'refused')
      this.deps.logger.warn({ code: result.code, why: result.message }, 'signed list refused');
    else {
      this.deps.logger.info(
        { list: result.type, version: result.version, outcome: result.outcome },
        'signed list',
      );
      if (result.outcome === 'applied') {
        this.deps.bus.emit('listApplied', { type: result.type, version: result.version });
        this.deps.bus.emit('eventCommitted', { seq: this.deps.store.outbox.lastSeq });
      }
    }
    return result;
  }

  applyTimeBeacon(bytes: Uint8Array): boolean {
    const { clock, store, logger, bus } = this.deps;
    const before = clock.state();
    const r = clock.applyBeacon(bytes);
    if (!r.ok) {
      logger.warn({ why: r.why }, 'time beacon refused');
      return false;
    }
    this.deps.centralLists?.learn(r.lists);
    if (Math.abs(r.jumpMs) > JUMP_EVENT_MS) {
      const e = store.commitEvent({
        kind: 'clock_jump',
        at: clock.eventTimeMs(),
        data: { jump_ms: Math.round(r.jumpMs) },
      });
      logger.warn({ jumpMs: Math.round(r.jumpMs), seq: e.seq }, 'clock corrected by a beacon');
      bus.emit('eventCommitted', { seq: e.seq });
    }
    const after = clock.state();
    if (after !== before) bus.emit('clockState', { state: after });
    return true;
  }

  status(): TerminalStatus {
    const { store, clock, config } = this.deps;
    const lists: Record<string, { version: number; issuedAt: number }> = {};
    for (const [t, v] of Object.entries(store.lists.versions()))
      if (v) lists[t] = { version: v.version, issuedAt: v.issuedAt };
    return {
      state: 'online',
      at: clock.nowMs(),
      role: config.role,
      lists,
      outboxDepth: store.outbox.depth,
      lastSeq: store.outbox.lastSeq,
      outboxDamaged: store.outbox.damagedRows,
      seqHold: store.outbox.held,
      clock: clock.state(),
      readers: this.deps.readers?.() ?? {},
    };
  }

  applyReplayRelay(bytes: Uint8Array): number | string {
    const keys = openReplayKeys(bytes, this.deps.listKey, Math.floor(this.deps.clock.nowMs() / 1000));
    if (typeof keys === 'string') {
      this.deps.logger.warn({ why: keys }, 'replay relay refused');
      return keys;
    }
    if (keys.length > 0) this.deps.store.verifier.addFleetReplayKeys(keys);
    return keys.length;
  }

  commandAlreadyRun(id: string, nowMs: number): boolean {
    return this.deps.store.commands.alreadyRun(id, nowMs);
  }

  recordCommandRun(id: string, expiresAtMs: number): void {
    this.deps.store.commands.record(id, expiresAtMs);
  }

  onEventCommitted(listener: (seq: number) => void): () => void {
    return this.deps.bus.on('eventCommitted', ({ seq }) => listener(seq));
  }
}
