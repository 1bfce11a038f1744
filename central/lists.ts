// List publisher: after every change central publishes the signed cumulative delta (retained, one topic
// per list type) and, at start, periodically or when the delta grows, a fresh signed snapshot (retained)
// while clearing the delta. A terminal that was offline catches up from the two retained messages.
// Also sends signed time beacons.
import type { Logger } from 'pino';
import { fromHex } from '../shared/bytes.js';
import { signBeacon } from '../shared/beacon.js';
import type { KeyPair } from '../shared/keys.js';
import { encodeCardDelta, encodeCardSnapshot, type CardBindingInput } from '../shared/cards.js';
import type { Entitlement } from '../shared/credential.js';
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

export const CENTRAL_LISTS: CentralListType[] = ['trust', 'revocation', 'cards'];
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
  /** Whether this worker holds the publisher lease now (default: always; see central/leadership.ts). */
  isLeader?: () => boolean;
  /** How often the leader checks for changes it was not told about (default 5 s; 0 = never). */
  catchUpEveryMs?: number;
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

/** What central stores for one card binding (list element data). */
export interface StoredCardBinding {
  sub: string;
  ent: Entitlement[];
  exp?: number;
  blocked?: boolean;
}

function cardFromData(hHex: string, data: string | undefined): CardBindingInput {
  const d = JSON.parse(data ?? '{}') as StoredCardBinding;
  return {
    h: fromHex(hHex),
    sub: d.sub,
    ent: d.ent ?? [],
    blocked: d.blocked === true,
    ...(d.exp !== undefined ? { exp: d.exp } : {}),
  };
}

export function buildSnapshot(
  type: CentralListType,
  version: number,
  issuedAt: number,
  elements: ListElement[],
): SignedList {
  if (isLibrary(type)) return buildLibrarySnapshot(type, version, issuedAt, elements);
  const live = elements.filter((e) => e.state === 'add');
  if (type === 'cards')
    return {
      type,
      version,
      issuedAt,
      snapshot: encodeCardSnapshot(live.map((e) => cardFromData(e.key, e.data))),
    };
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
  if (type === 'cards')
    return {
      type,
      version,
      issuedAt,
      base,
      delta: encodeCardDelta({
        upsert: pick('card', 'add').map((e) => cardFromData(e.key, e.data)),
        remove: pick('card', 'remove').map((e) => fromHex(e.key)),
      }),
    };
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
  private announcing = false;
  /** The highest version of each list this worker published while leading (skips repeats). */
  private readonly published = new Map<CentralListType, number>();
  readonly counters = { snapshots: 0, deltas: 0, beacons: 0 };

  constructor(private readonly opts: ListPublisherOptions) {
    this.log = opts.logger.child({ component: 'list-publisher' });
  }

  private get leading(): boolean {
    return this.opts.isLeader?.() ?? true;
  }

  async start(): Promise<void> {
    if (this.leading) await this.republishAll();
    const every = this.opts.snapshotEveryMs ?? 3_600_000;
    this.timers.push(setInterval(() => this.tick(() => this.periodic(every)), Math.min(every, 60_000)));
    const beacon = this.opts.beaconEveryMs ?? 10_000;
    if (beacon > 0) this.timers.push(setInterval(() => this.tick(() => this.sendBeacon()), beacon));
    // A change announced while this worker was not connected (or a lost NOTIFY) is caught up here.
    const catchUp = this.opts.catchUpEveryMs ?? 5_000;
    if (catchUp > 0)
      this.timers.push(
        setInterval(() => {
          for (const type of CENTRAL_LISTS) this.tick(() => this.changed(type));
        }, catchUp),
      );
  }

  /**
   * Publishes a fresh snapshot of every list (clearing the deltas) and a beacon: at start, when this
   * worker takes the publisher lease, and whenever central (re)connects to the broker, since a broker
   * restart without persistence forgets every retained message.
   */
  async republishAll(): Promise<void> {
    if (!this.leading) return;
    this.published.clear();
    for (const type of CENTRAL_LISTS)
      await this.enqueue(async () => {
        // Version 1 is the empty list: a terminal always has something to start from.
        if ((await this.opts.source.listState(type)).version === 0)
          await this.opts.source.changeList(type, []);
        await this.publishSnapshot(type);
      });
    // Library lists only once a library has set them up (gates that lend nothing never get them).
    for (const type of OPTIONAL_LISTS)
      await this.enqueue(async () => {
        if ((await this.opts.source.listState(type)).version > 0) await this.publishSnapshot(type);
      });
    if ((this.opts.beaconEveryMs ?? 10_000) > 0) await this.sendBeacon();
  }

  /** Runs timer-driven work; a rejection it did not handle itself is logged, never left unhandled. */
  private tick(work: () => Promise<void>): void {
    if (!this.leading) return;
    work().catch((err: Error) => this.log.error({ err }, 'timer-driven list work failed'));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /**
   * Call after any change to a list: the leader publishes the new cumulative delta (or a snapshot), then a
   * beacon carrying the new versions so a terminal that misses the delta knows its list is behind. On a
   * worker that does not lead this does nothing: the leader learns of the change from the store.
   */
  async changed(type: CentralListType): Promise<void> {
    if (!this.leading) return;
    await this.enqueue(() => this.publishChange(type));
    this.announce();
  }

  /**
   * A beacon with the current list versions soon (a terminal came online, a list changed). Coalesced: while
   * one is queued, more calls add nothing, so a fleet reconnecting at once costs a few beacons, not one each.
   */
  announce(): void {
    if (!this.leading || this.announcing || (this.opts.beaconEveryMs ?? 10_000) <= 0) return;
    this.announcing = true;
    void this.enqueue(async () => {
      this.announcing = false;
      await this.sendBeacon();
    });
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

  /** Every publication goes through here: a worker that lost the lease must not publish (fencing). */
  private async send(topic: string, payload: Uint8Array, retain: boolean): Promise<void> {
    if (!this.leading) throw new Error('not the list publisher any more (lease lost): not publishing');
    await this.opts.publish(topic, payload, retain);
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
    if (state.version <= (this.published.get(type) ?? 0)) return;
    const { version, elements } = await this.opts.source.listElements(type, state.snapshotVersion);
    if (version <= state.snapshotVersion) return;
    if (elements.length > (this.opts.maxDeltaElements ?? 1000)) return this.publishSnapshot(type);
    const list = buildDelta(type, state.snapshotVersion, version, nowSeconds(), elements);
    await this.send(topics.listDelta(type), signList(this.opts.listKey, list), true);
    this.published.set(type, version);
    this.counters.deltas++;
    this.log.info(
      { type, base: state.snapshotVersion, version, changes: elements.length },
      'published a list delta',
    );
  }

  private async publishSnapshot(type: CentralListType): Promise<void> {
    const { version, elements } = await this.opts.source.listElements(type, 0);
    const list = buildSnapshot(type, version, nowSeconds(), elements);
    await this.send(topics.listSnapshot(type), signList(this.opts.listKey, list), true);
    // The old delta was relative to an older snapshot: clear it (an empty retained message).
    await this.send(topics.listDelta(type), new Uint8Array(0), true);
    await this.opts.source.markSnapshot(type, version, Date.now());
    this.published.set(type, Math.max(version, this.published.get(type) ?? 0));
    this.counters.snapshots++;
    this.log.info({ type, version }, 'published a list snapshot');
    // A change that landed while we built the snapshot goes out as a delta.
    const after = await this.opts.source.listState(type);
    if (after.version > version) await this.publishChange(type);
  }

  private async sendBeacon(): Promise<void> {
    // Milliseconds: strictly increasing across restarts and across a handover to another worker (whose
    // own counter starts from its clock), as long as the workers' clocks agree to within the period.
    try {
      const lists: Record<string, number> = {};
      for (const type of CENTRAL_LISTS) lists[type] = (await this.opts.source.listState(type)).version;
      // Take the seq only now, with no await before the publication: two beacons in flight (the timer's
      // and an announcement) reach the broker in seq order even when their version reads interleave.
      this.beaconSeq = Math.max(this.beaconSeq + 1, Date.now());
      await this.send(
        topics.time,
        signBeacon(this.opts.listKey, { t: Date.now(), seq: this.beaconSeq, lists }),
        false,
      );
      this.counters.beacons++;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not publish a time beacon');
    }
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
