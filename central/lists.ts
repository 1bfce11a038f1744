// List publisher: after every change central publishes the signed cumulative delta (retained, one topic
// per list type) and, at start, periodically or when the delta grows, a fresh signed snapshot (retained)
// while clearing the delta. A terminal that was offline catches up from the two retained messages.
// Also sends signed time beacons.
import type { Logger } from 'pino';
import { fromHex } from '../shared/bytes.js';
import { signBeacon } from '../shared/beacon.js';
import type { KeyPair } from '../shared/keys.js';
import { signList, type RevocationDelta, type SignedList, type TrustDelta } from '../shared/lists.js';
import type { TrustedIssuerKey } from '../shared/store.js';
import { topics } from '../shared/sync.js';
import type { CentralListType, CentralStore, ListElement } from './store/types.js';
import {
  buildLibraryDelta,
  buildLibrarySnapshot,
  LIBRARY_LISTS,
  type LibraryListType,
} from './loans/lists.js';

export const CENTRAL_LISTS: CentralListType[] = ['trust', 'revocation'];
/** Published once a library has set them up (a policy, a catalogue or a member status changed). */
export const OPTIONAL_LISTS: CentralListType[] = [...LIBRARY_LISTS];

const isLibrary = (t: CentralListType): t is LibraryListType => (LIBRARY_LISTS as string[]).includes(t);

/** What the publisher needs: the list key and the versioned list state. */
export type ListSource = Pick<CentralStore, 'listState' | 'listElements' | 'markSnapshot' | 'changeList'>;

export interface ListPublisherOptions {
  source: ListSource;
  listKey: KeyPair;
  publish: (topic: string, payload: Uint8Array, retain: boolean) => Promise<void>;
  logger: Logger;
  /** Re-snapshot after this long (default 1 h). */
  snapshotEveryMs?: number;
  /** Re-snapshot when the cumulative delta holds more elements than this (default 1000). */
  maxDeltaElements?: number;
  /** Time beacon period (default 10 s; 0 = none). */
  beaconEveryMs?: number;
}

export interface StoredIssuerKey {
  alg: TrustedIssuerKey['alg'];
  publicKey: string;
  issuer: string;
  notBefore?: number;
  notAfter?: number;
}

function issuerKeyFromData(kidHex: string, data: string | undefined): TrustedIssuerKey {
  const d = JSON.parse(data ?? '{}') as StoredIssuerKey;
  const k: TrustedIssuerKey = {
    kid: fromHex(kidHex),
    alg: d.alg,
    publicKey: fromHex(d.publicKey),
    issuer: d.issuer,
  };
  if (d.notBefore !== undefined) k.notBefore = d.notBefore;
  if (d.notAfter !== undefined) k.notAfter = d.notAfter;
  return k;
}

export function buildSnapshot(
  type: CentralListType,
  version: number,
  issuedAt: number,
  elements: ListElement[],
): SignedList {
  if (isLibrary(type)) return buildLibrarySnapshot(type, version, issuedAt, elements);
  const live = elements.filter((e) => e.state === 'add');
  if (type === 'trust')
    return { type, version, issuedAt, snapshot: { keys: live.map((e) => issuerKeyFromData(e.key, e.data)) } };
  return {
    type,
    version,
    issuedAt,
    snapshot: {
      serials: live.filter((e) => e.kind === 'serial').map((e) => fromHex(e.key)),
      subjects: live.filter((e) => e.kind === 'subject').map((e) => e.key),
    },
  };
}

export function buildDelta(
  type: CentralListType,
  base: number,
  version: number,
  issuedAt: number,
  elements: ListElement[],
): SignedList {
  // A policy delta carries the whole policy: the policy is the single element, and it changed.
  if (isLibrary(type)) return buildLibraryDelta(type, base, version, issuedAt, elements);
  const pick = (kind: ListElement['kind'], state: ListElement['state']) =>
    elements.filter((e) => e.kind === kind && e.state === state);
  if (type === 'trust') {
    const delta: TrustDelta = {
      add: pick('key', 'add').map((e) => issuerKeyFromData(e.key, e.data)),
      remove: pick('key', 'remove').map((e) => fromHex(e.key)),
    };
    return { type, version, issuedAt, base, delta };
  }
  const delta: RevocationDelta = {
    addSerials: pick('serial', 'add').map((e) => fromHex(e.key)),
    removeSerials: pick('serial', 'remove').map((e) => fromHex(e.key)),
    addSubjects: pick('subject', 'add').map((e) => e.key),
    removeSubjects: pick('subject', 'remove').map((e) => e.key),
  };
  return { type, version, issuedAt, base, delta };
}

export class ListPublisher {
  private readonly log: Logger;
  private chain: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private beaconSeq = 0;

  constructor(private readonly opts: ListPublisherOptions) {
    this.log = opts.logger.child({ component: 'list-publisher' });
  }

  async start(): Promise<void> {
    for (const type of CENTRAL_LISTS) {
      // Version 1 is the empty list: a terminal always has something to start from.
      if ((await this.opts.source.listState(type)).version === 0) await this.opts.source.changeList(type, []);
      await this.enqueue(() => this.publishSnapshot(type));
    }
    for (const type of OPTIONAL_LISTS)
      if ((await this.opts.source.listState(type)).version > 0)
        await this.enqueue(() => this.publishSnapshot(type));
    const every = this.opts.snapshotEveryMs ?? 3_600_000;
    this.timers.push(setInterval(() => this.tick(() => this.periodic(every)), Math.min(every, 60_000)));
    const beacon = this.opts.beaconEveryMs ?? 10_000;
    if (beacon > 0) {
      this.tick(() => this.sendBeacon());
      this.timers.push(setInterval(() => this.tick(() => this.sendBeacon()), beacon));
    }
  }

  /** Runs timer-driven work; a rejection it did not handle itself is logged, never left unhandled. */
  private tick(work: () => Promise<void>): void {
    work().catch((err: Error) => this.log.error({ err }, 'timer-driven list work failed'));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Call after any change to a list: publishes the new cumulative delta (or a snapshot). */
  changed(type: CentralListType): Promise<void> {
    return this.enqueue(() => this.publishChange(type));
  }

  /** Waits for everything queued so far. */
  idle(): Promise<void> {
    return this.chain;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work);
    this.chain = next.catch((err: Error) => this.log.error({ err }, 'list publication failed'));
    return next;
  }

  /**
   * Timer-driven: must never reject (an unhandled rejection would end central). A database outage or a
   * failed publication is logged and the next tick tries again.
   */
  private async periodic(every: number): Promise<void> {
    for (const type of [...CENTRAL_LISTS, ...OPTIONAL_LISTS]) {
      try {
        const state = await this.opts.source.listState(type);
        if (state.version > 0 && Date.now() - state.snapshotAt >= every)
          await this.enqueue(() => this.publishSnapshot(type));
      } catch (err) {
        this.log.error({ err, type }, 'periodic list snapshot failed; retrying on the next tick');
      }
    }
  }

  private async publishChange(type: CentralListType): Promise<void> {
    const state = await this.opts.source.listState(type);
    if (state.snapshotVersion === 0) return this.publishSnapshot(type);
    const { version, elements } = await this.opts.source.listElements(type, state.snapshotVersion);
    if (version <= state.snapshotVersion) return;
    if (elements.length > (this.opts.maxDeltaElements ?? 1000)) return this.publishSnapshot(type);
    const list = buildDelta(type, state.snapshotVersion, version, nowSeconds(), elements);
    await this.opts.publish(topics.listDelta(type), signList(this.opts.listKey, list), true);
    this.log.info(
      { type, base: state.snapshotVersion, version, changes: elements.length },
      'published a list delta',
    );
  }

  private async publishSnapshot(type: CentralListType): Promise<void> {
    const { version, elements } = await this.opts.source.listElements(type, 0);
    const list = buildSnapshot(type, version, nowSeconds(), elements);
    await this.opts.publish(topics.listSnapshot(type), signList(this.opts.listKey, list), true);
    // The old delta was relative to an older snapshot: clear it (an empty retained message).
    await this.opts.publish(topics.listDelta(type), new Uint8Array(0), true);
    await this.opts.source.markSnapshot(type, version, Date.now());
    this.log.info({ type, version }, 'published a list snapshot');
    // A change that landed while we built the snapshot goes out as a delta.
    const after = await this.opts.source.listState(type);
    if (after.version > version) await this.publishChange(type);
  }

  private async sendBeacon(): Promise<void> {
    // Strictly increasing across restarts as long as beacons are at most one a second on average.
    this.beaconSeq = Math.max(this.beaconSeq + 1, nowSeconds());
    try {
      await this.opts.publish(
        topics.time,
        signBeacon(this.opts.listKey, { t: Date.now(), seq: this.beaconSeq }),
        false,
      );
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not publish a time beacon');
    }
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
