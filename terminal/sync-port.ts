// The seam between the terminal's store/daemon and its MQTT sync client (terminal/adapters/mqtt-sync.ts).
// The daemon implements SyncPort; the sync client only calls these methods.
import type { TerminalEvent } from '../shared/events.js';
import type { TerminalStatus } from '../shared/sync.js';

export type ListApplyResult =
  | { outcome: 'applied' | 'already_applied'; type: string; version: number }
  | { outcome: 'refused'; code: string; message: string };

export interface SyncPort {
  readonly terminalId: string;
  /** Committed events with seq > afterSeq, oldest first, at most `limit`. */
  pendingEvents(afterSeq: number, limit: number): TerminalEvent[];
  /** Central committed every event up to and including seq: they may leave the outbox. Idempotent. */
  acknowledge(seq: number): void;
  /** A signed list (snapshot or delta) from a retained lists topic: verify with the pinned list key, apply atomically. */
  applySignedList(bytes: Uint8Array): ListApplyResult;
  /** A signed time beacon from the time topic. Returns false (and logs why) when refused. */
  applyTimeBeacon(bytes: Uint8Array): boolean;
  /** Current status for the retained status topic and heartbeats. */
  status(): TerminalStatus;
  /** Subscribe to "new event committed" so the client can drain promptly; returns an unsubscribe function. */
  onEventCommitted(listener: (seq: number) => void): () => void;
  /**
   * A signed replay relay from central (shared/replay-relay.ts): add its keys to the replay cache. Returns
   * how many keys were added, or why it was refused. Ports without a replay cache leave it out.
   */
  applyReplayRelay?(bytes: Uint8Array): number | string;
  /** Durable memory of command ids already run (the terminal's SQLite); without it, memory only. */
  commandAlreadyRun?(id: string, nowMs: number): boolean;
  recordCommandRun?(id: string, expiresAtMs: number): void;
}
