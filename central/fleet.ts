// Fleet state: every terminal's retained status and heartbeats, and the report `central status` prints.
import type { Logger } from 'pino';
import { readStatus, type TerminalStatus } from '../shared/sync.js';
import type { CentralStore, TerminalRecord } from './store/types.js';

export interface FleetEntry {
  id: string;
  role: string;
  online: boolean;
  lastSeen?: number;
  /** Highest contiguous seq committed at central. */
  ackedSeq: number;
  /** Events the terminal still holds (from its last heartbeat). */
  outboxLag?: number;
  lists?: TerminalStatus['lists'];
  clock?: TerminalStatus['clock'];
  /** Outbox rows the terminal could not read and sent as record_lost markers. */
  outboxDamaged?: number;
  /** Holding its outbox until central's ack (after a recovery lost its seq counter). */
  seqHold?: boolean;
}

export interface FleetReport {
  at: number;
  terminals: FleetEntry[];
  online: number;
  offline: number;
}

/** A terminal is online when its retained status says so and it was heard from within this window. */
export const DEFAULT_STALE_MS = 90_000;

export function fleetReport(records: TerminalRecord[], now: number, staleMs = DEFAULT_STALE_MS): FleetReport {
  const terminals = records.map((r): FleetEntry => {
    const s = r.status;
    const online = s?.state === 'online' && r.lastSeen !== undefined && now - r.lastSeen < staleMs;
    const e: FleetEntry = { id: r.id, role: r.role, online, ackedSeq: r.ackedSeq };
    if (r.lastSeen !== undefined) e.lastSeen = r.lastSeen;
    if (s?.outboxDepth !== undefined) e.outboxLag = s.outboxDepth;
    if (s?.lists) e.lists = s.lists;
    if (s?.clock) e.clock = s.clock;
    if (typeof s?.outboxDamaged === 'number' && s.outboxDamaged > 0) e.outboxDamaged = s.outboxDamaged;
    if (s?.seqHold === true) e.seqHold = true;
    return e;
  });
  const online = terminals.filter((t) => t.online).length;
  return { at: now, terminals, online, offline: terminals.length - online };
}

export class Fleet {
  private readonly log: Logger;

  constructor(
    private readonly store: CentralStore,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'fleet' });
  }

  async handleStatus(terminal: string, bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return; // a cleared retained status
    const status = readStatus(bytes);
    if (!status) {
      this.log.warn({ terminal }, 'ignored a malformed status');
      return;
    }
    if (!(await this.store.terminal(terminal))) return;
    await this.store.recordStatus(terminal, status, Date.now());
    if (status.state === 'offline') this.log.info({ terminal }, 'terminal went offline');
  }

  async report(staleMs?: number): Promise<FleetReport> {
    return fleetReport(await this.store.terminals(), Date.now(), staleMs);
  }
}
