// Fleet state: every terminal's retained status and heartbeats, and the report `central status` prints.
import type { Logger } from 'pino';
import type { VerifyKey } from '../shared/keys.js';
import { TokenBuckets } from './token-bucket.js';
import { openStatus, type TerminalStatus } from '../shared/sync.js';
import type { CentralStore, TerminalRecord } from './store/types.js';

export interface FleetEntry {
  id: string;
  role: string;
  online: boolean;
  lastSeen?: number;
  /** Highest contiguous seq committed at central. */
  ackedSeq: number;
  /**
   * Events the terminal holds that central has not stored: its last seq as of its last status minus what
   * central stored (ackedSeq), so an ack after that status already counts. Older terminals without lastSeq
   * report their outbox depth instead.
   */
  outboxLag?: number;
  /** Unix ms of the status the lag, lists and clock come from. */
  statusAt?: number;
  lists?: TerminalStatus['lists'];
  clock?: TerminalStatus['clock'];
  /** Inputs, outputs and PC/SC readers: name → `ok`, `absent: code` or `fault: code`. */
  readers?: TerminalStatus['readers'];
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
    if (s?.lastSeq !== undefined) e.outboxLag = Math.max(0, s.lastSeq - r.ackedSeq);
    else if (s?.outboxDepth !== undefined) e.outboxLag = s.outboxDepth;
    if (s) e.statusAt = r.lastSeen ?? s.at;
    if (s?.lists) e.lists = s.lists;
    if (s?.clock) e.clock = s.clock;
    if (s?.readers) e.readers = s.readers;
    if (typeof s?.outboxDamaged === 'number' && s.outboxDamaged > 0) e.outboxDamaged = s.outboxDamaged;
    if (s?.seqHold === true) e.seqHold = true;
    return e;
  });
  const online = terminals.filter((t) => t.online).length;
  return { at: now, terminals, online, offline: terminals.length - online };
}

/** Status messages per terminal central reads at once, and per second after that (issue 8 item 12). */
export const STATUS_BURST = 30;
export const STATUS_PER_SECOND = 1;

export class Fleet {
  private readonly log: Logger;
  private readonly budgets = new TokenBuckets(STATUS_BURST, STATUS_PER_SECOND);
  /** Status messages dropped unread (over the per-terminal rate) and refused (unsigned, malformed). */
  readonly counters = { dropped: 0, refused: 0 };

  constructor(
    private readonly store: CentralStore,
    logger: Logger,
    /** The terminal's enrollment key (statuses are signed like batches); undefined when unknown or retired. */
    private readonly keyFor: (terminal: string) => Promise<VerifyKey | undefined>,
  ) {
    this.log = logger.child({ component: 'fleet' });
  }

  /** Records a status; resolves true when the terminal just came online (it was not online before). */
  async handleStatus(terminal: string, bytes: Uint8Array): Promise<boolean> {
    if (bytes.length === 0) return false; // a cleared retained status
    if (!this.budgets.take(terminal)) {
      this.counters.dropped++;
      return false;
    }
    const key = await this.keyFor(terminal);
    if (!key) return false;
    const status = openStatus(bytes, key, terminal);
    if (typeof status === 'string') {
      this.counters.refused++;
      this.log.warn({ terminal, why: status }, 'ignored a status');
      return false;
    }
    const before = await this.store.terminal(terminal);
    if (!before) return false;
    await this.store.recordStatus(terminal, status, Date.now());
    if (status.state === 'offline') this.log.info({ terminal }, 'terminal went offline');
    return status.state === 'online' && before.status?.state !== 'online';
  }

  async report(staleMs?: number): Promise<FleetReport> {
    return fleetReport(await this.store.terminals(), Date.now(), staleMs);
  }
}
