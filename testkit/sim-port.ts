// A small in-memory SyncPort for sync-client tests and the ingest bench: an outbox array, lists applied to a MemoryStore
// through the real openList/checkSequence, beacons checked with the pinned list key.
import { openBeacon } from '../shared/beacon.js';
import type { TerminalEvent } from '../shared/events.js';
import { VerifyKey } from '../shared/keys.js';
import { ListError, openList } from '../shared/lists.js';
import { MemoryStore } from '../shared/store.js';
import type { TerminalStatus } from '../shared/sync.js';
import type { ListApplyResult, SyncPort } from '../terminal/sync-port.js';

export class SimPort implements SyncPort {
  outbox: TerminalEvent[] = [];
  nextSeq = 1;
  readonly store = new MemoryStore();
  beacons = 0;
  acks: number[] = [];
  private listeners = new Set<(seq: number) => void>();
  private readonly listKey: VerifyKey;

  constructor(
    readonly terminalId: string,
    listPublicKey: Uint8Array,
  ) {
    this.listKey = new VerifyKey('EdDSA', listPublicKey);
  }

  commit(n: number): void {
    for (let i = 0; i < n; i++) {
      const seq = this.nextSeq++;
      this.outbox.push({
        seq,
        kind: 'entry',
        at: 1_700_000_000_000 + seq,
        decision: 'accept',
        reason: 'ok',
        sub: `p-${seq % 7}`,
      });
      for (const l of this.listeners) l(seq);
    }
  }

  pendingEvents(afterSeq: number, limit: number): TerminalEvent[] {
    return this.outbox.filter((e) => e.seq > afterSeq).slice(0, limit);
  }

  acknowledge(seq: number): void {
    this.acks.push(seq);
    this.outbox = this.outbox.filter((e) => e.seq > seq);
  }

  applySignedList(bytes: Uint8Array): ListApplyResult {
    try {
      const list = openList(bytes, this.listKey);
      const outcome = this.store.applyList(list);
      return {
        outcome: outcome === 'apply' ? 'applied' : 'already_applied',
        type: list.type,
        version: list.version,
      };
    } catch (err) {
      if (err instanceof ListError) return { outcome: 'refused', code: err.code, message: err.message };
      throw err;
    }
  }

  applyTimeBeacon(bytes: Uint8Array): boolean {
    const b = openBeacon(bytes, this.listKey);
    if (typeof b === 'string') return false;
    this.beacons++;
    return true;
  }

  status(): TerminalStatus {
    const lists: NonNullable<TerminalStatus['lists']> = {};
    for (const [type, version] of this.store.listVersions) lists[type] = { version, issuedAt: 0 };
    return {
      state: 'online',
      at: Date.now(),
      role: 'turnstile',
      outboxDepth: this.outbox.length,
      clock: 'trusted',
      lists,
    };
  }

  onEventCommitted(listener: (seq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
