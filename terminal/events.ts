// The terminal's typed event bus: one map of event names to payload types. Every listener runs inside
// a try/catch, so one failing listener is logged and never stops a decision or the daemon.
import type { Logger } from 'pino';
import type { Reason } from '../shared/reasons.js';
import type { ClockState } from '../shared/sync.js';

export interface TerminalEventMap {
  /** A typed scan arrived from an input (already through that input's checks). */
  scan: { source: string; kind: 'qr' | 'card' | 'barcode' };
  decision: {
    seq: number | null;
    decision: 'accept' | 'deny';
    reason: Reason;
    latencyMs: number;
    source: string;
  };
  eventCommitted: { seq: number };
  listApplied: { type: string; version: number };
  clockState: { state: ClockState };
  storageFailure: { message: string };
  inputIgnored: { source: string; why: string };
  /** An input or output changed health (terminal/io/registry.ts HealthWatch). */
  deviceHealth: {
    device: string;
    kind: 'input' | 'output';
    type: string;
    from: 'ok' | 'absent' | 'fault' | 'unknown';
    state: 'ok' | 'absent' | 'fault';
    reason?: string;
  };
}

type Listener<K extends keyof TerminalEventMap> = (payload: TerminalEventMap[K]) => void;

export class TerminalBus {
  private listeners = new Map<keyof TerminalEventMap, Set<Listener<never>>>();

  constructor(private readonly logger?: Logger) {}

  on<K extends keyof TerminalEventMap>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof TerminalEventMap>(name: K, payload: TerminalEventMap[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as Listener<K>)(payload);
      } catch (err) {
        this.logger?.error({ err, event: name }, 'event listener failed');
      }
    }
  }
}
