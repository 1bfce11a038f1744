// What central keeps, as one interface with two implementations (SQLite by default, PostgreSQL for
// scale-out). Both pass the one conformance suite in test/central/store-conformance.ts.
import type { TerminalEvent } from '../../shared/events.js';
import type { Alg } from '../../shared/keys.js';
import type { TerminalStatus } from '../../shared/sync.js';
import type { LoanStore } from '../loans/types.js';
import type { StoreHealth } from './outage.js';

export interface TerminalRecord {
  id: string;
  role: string;
  /** The terminal's enrollment key: verifies its event batches. */
  alg: Alg;
  publicKey: Uint8Array;
  /** `scrypt$…` (see central/secrets.ts). */
  secretHash: string;
  /** The same secret hashed for a mosquitto password file (`$7$…`). */
  mosquittoHash: string;
  createdAt: number;
  /** Highest contiguous seq committed (what the last ack said). */
  ackedSeq: number;
  lastSeen?: number;
  status?: TerminalStatus;
}

export type NewTerminal = Omit<TerminalRecord, 'ackedSeq' | 'lastSeen' | 'status'>;

export interface CommitResult {
  /** Highest contiguous seq now committed for this terminal: the cumulative ack. */
  acked: number;
  /** Events newly stored by this call (duplicates are ignored). */
  inserted: number;
}

/** The list types central maintains itself (cards come later). */
export type CentralListType = 'trust' | 'revocation' | 'library' | 'items' | 'members';

/**
 * One element of a list as central tracks it: its final state and the list version that last changed it,
 * so a cumulative delta since any base is "every element with version > base".
 * kind: `serial` (revocation, key = cti hex), `subject` (revocation, key = sub), `key` (trust, key = kid hex,
 * data = JSON of the issuer key).
 */
export interface ListElement {
  /** policy, item, member: the library lists (central/loans/lists.ts); data is JSON. */
  kind: 'serial' | 'subject' | 'key' | 'policy' | 'item' | 'member';
  key: string;
  state: 'add' | 'remove';
  data?: string;
  version: number;
}

export type ListChange = Omit<ListElement, 'version'>;

export interface ListState {
  version: number;
  snapshotVersion: number;
  snapshotAt: number;
}

export interface EnrollmentGrant {
  terminal: string;
  role: string;
}

export interface CentralStore {
  init(): Promise<void>;
  /** The loans ledger, on the same database. */
  readonly loans: LoanStore;
  close(): Promise<void>;
  /** Whether the database answered the last call (see central/store/outage.ts). */
  health(): StoreHealth;
  /** Asks the database now (one attempt) and returns the resulting health. */
  ping(): Promise<StoreHealth>;

  /** Throws when the id is taken. */
  addTerminal(t: NewTerminal): Promise<void>;
  terminal(id: string): Promise<TerminalRecord | undefined>;
  terminals(): Promise<TerminalRecord[]>;
  recordStatus(id: string, status: TerminalStatus, seenAt: number): Promise<void>;

  /**
   * Stores contiguous events (UNIQUE terminal, seq: duplicates ignored) and advances the terminal's
   * contiguous seq, in one transaction. Events past a gap are stored but the ack stays below the gap
   * until it fills.
   */
  commitBatch(terminal: string, events: TerminalEvent[], receivedAt: number): Promise<CommitResult>;
  eventCount(terminal?: string): Promise<number>;
  events(terminal: string, afterSeq: number, limit: number): Promise<TerminalEvent[]>;

  /**
   * Records changes and bumps the list version in one transaction; returns the new version: one more
   * than the current, or `minVersion` when that is higher (to move past versions published elsewhere).
   */
  changeList(type: CentralListType, changes: ListChange[], minVersion?: number): Promise<number>;
  listState(type: CentralListType): Promise<ListState>;
  /** Elements changed after `sinceVersion` (0: every element), with the version they belong to, read together. */
  listElements(
    type: CentralListType,
    sinceVersion: number,
  ): Promise<{ version: number; elements: ListElement[] }>;
  markSnapshot(type: CentralListType, version: number, at: number): Promise<void>;

  addEnrollmentCode(codeHash: string, grant: EnrollmentGrant, expiresAt: number): Promise<void>;
  /** Marks the code used and returns its grant; undefined when unknown, used or expired. Atomic. */
  useEnrollmentCode(codeHash: string, now: number): Promise<EnrollmentGrant | undefined>;
}
