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
  /** Set by `central retire`: its MQTT user is revoked, its events stay, the id is never reused. */
  retiredAt?: number;
}

export type TerminalCredentialHashes = Pick<
  TerminalRecord,
  'alg' | 'publicKey' | 'secretHash' | 'mosquittoHash'
>;

export type NewTerminal = Omit<TerminalRecord, 'ackedSeq' | 'lastSeen' | 'status' | 'retiredAt'>;

/** One presentation (replay key cti:t:nonce) recorded by two terminals: a copied code used offline. */
export interface CrossTerminalReplay {
  key: string;
  seq: number;
  otherTerminal: string;
  otherSeq: number;
}

export interface CommitResult {
  /**
   * Highest contiguous seq now committed for this terminal: the cumulative ack. Never covers a seq whose
   * content conflicts with what is stored (see `conflicts`).
   */
  acked: number;
  /** Events newly stored by this call (identical redeliveries are ignored). */
  inserted: number;
  /**
   * True when the batch started beyond acked + 1 and nothing was stored: the sync client sends
   * contiguously, so such a batch is planted or central lost events (see `acceptGap`).
   */
  beyondAck: boolean;
  /** Seqs that were already stored with other content: the new copy went to quarantine. */
  conflicts: number[];
  /** Entry events whose presentation another terminal recorded before. */
  crossTerminal: CrossTerminalReplay[];
}

export const ALERT_KINDS = [
  'seq_conflict',
  'batch_beyond_ack',
  'gap_accepted',
  'quota_rate',
  'quota_storage',
  'replay_across_terminals',
  'terminal_retired',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Something an operator must look at: logged, in `central status` and on GET /alerts. */
export interface Alert {
  id: number;
  at: number;
  kind: AlertKind;
  terminal: string;
  /** Small JSON-able facts (seqs, counts, the other terminal). Never secrets or UIDs. */
  detail: Record<string, string | number | boolean>;
}

/** The list types central maintains itself. */
export type CentralListType = 'trust' | 'revocation' | 'cards' | 'library' | 'items' | 'members';

/**
 * One element of a list as central tracks it: its final state and the list version that last changed it,
 * so a cumulative delta since any base is "every element with version > base".
 * kind: `serial` (revocation, key = cti hex), `subject` (revocation, key = sub), `key` (trust, key = kid hex,
 * data = JSON of the issuer key), `card` (cards, key = card hash hex, data = JSON {sub, ent, exp?, blocked?}).
 */
export interface ListElement {
  /** policy, item, member: the library lists (central/loans/lists.ts); data is JSON. */
  kind: 'serial' | 'subject' | 'key' | 'card' | 'policy' | 'item' | 'member';
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
  /**
   * Replaces a terminal's enrollment key and MQTT secret hashes (credential rotation, retirement).
   * Resolves false when the terminal is not registered. Its events and acked seq stay.
   */
  replaceTerminalCredentials(id: string, creds: TerminalCredentialHashes): Promise<boolean>;
  terminals(): Promise<TerminalRecord[]>;
  recordStatus(id: string, status: TerminalStatus, seenAt: number): Promise<void>;

  /** Replaces a terminal's stored secret hash (lazy migration from scrypt to HMAC). */
  setSecretHash(id: string, secretHash: string): Promise<void>;
  /** Marks a terminal retired (idempotent); false when unknown. Its events stay. */
  retireTerminal(id: string, at: number): Promise<boolean>;

  /**
   * Stores a contiguous run of events (UNIQUE terminal, seq) and advances the terminal's contiguous seq,
   * in one transaction. A batch starting beyond acked + 1 stores nothing (`beyondAck`). A seq already
   * stored with identical content is a redelivery; with other content, the new copy is kept in
   * quarantine and the ack stops below it. Presentations (entry events with data.nonce) are indexed
   * to find one presentation recorded by two terminals.
   */
  commitBatch(terminal: string, events: TerminalEvent[], receivedAt: number): Promise<CommitResult>;
  /**
   * The operator's disaster-recovery path (central restored from an older backup, the terminal already
   * deleted what the newer copy acked): moves the terminal's contiguous seq to fromSeq - 1 and records
   * a `gap_accepted` alert naming the missing range. Returns the seqs before and after.
   */
  acceptGap(terminal: string, fromSeq: number, at: number): Promise<{ before: number; after: number }>;
  /** Quarantined copies of conflicting seqs. */
  quarantined(terminal?: string): Promise<{ terminal: string; seq: number; receivedAt: number }[]>;
  addAlert(alert: Omit<Alert, 'id'>): Promise<void>;
  /** Newest first. */
  alerts(limit: number): Promise<Alert[]>;
  alertCount(): Promise<number>;
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
