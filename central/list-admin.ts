// Changes to the lists central publishes: revocations, suspensions and trusted issuer keys. Each change
// is one stored list version, published before the call resolves.
import type { Logger } from 'pino';
import { toHex } from '../shared/bytes.js';
import { asInvalidInput, InvalidInput } from '../shared/errors.js';
import { assertSubject } from '../shared/ids.js';
import { assertPublicKey, keyId } from '../shared/keys.js';
import type { TrustedIssuerKey } from '../shared/store.js';
import { cardHash } from '../shared/cards.js';
import type { Entitlement } from '../shared/credential.js';
import type { ListPublisher, StoredCardBinding, StoredIssuerKey } from './lists.js';
import type { CentralStore } from './store/types.js';

const CTI_HEX = /^[0-9a-f]{32}$/;

function assertCti(ctiHex: string): string {
  const key = ctiHex.toLowerCase();
  if (!CTI_HEX.test(key))
    throw new InvalidInput('cti', 'expected 32 hex characters (the 16-byte credential serial)');
  return key;
}

export class ListAdmin {
  constructor(
    private readonly store: CentralStore,
    private readonly publisher: ListPublisher,
    private readonly log: Logger,
    /** The fleet card key: card UIDs are only ever stored as HMAC-SHA-256(uid, cardKey). */
    private readonly cardKey?: Uint8Array,
  ) {}

  private cardKeyHex(uid: Uint8Array): string {
    if (!this.cardKey) throw new RangeError('central has no card key (card-key.hex in its data folder)');
    return toHex(cardHash(uid, this.cardKey));
  }

  /** Binds a card to a member with what it entitles (and an optional expiry, unix s); idempotent. */
  async bindCard(
    uid: Uint8Array,
    binding: { sub: string; ent: Entitlement[]; exp?: number },
  ): Promise<number> {
    assertSubject(binding.sub);
    const data: StoredCardBinding = { sub: binding.sub, ent: binding.ent };
    if (binding.exp !== undefined) data.exp = binding.exp;
    return this.changeCard(uid, 'add', data, 'bound a card');
  }

  /** Blocks a bound card (reported lost): terminals deny it with card_blocked. */
  async blockCard(uid: Uint8Array): Promise<number> {
    const key = this.cardKeyHex(uid);
    const held = (await this.store.listElements('cards', 0)).elements.find(
      (e) => e.kind === 'card' && e.key === key && e.state === 'add',
    );
    if (!held) throw new RangeError('uid: this card is not bound; bind it before blocking it');
    const data = { ...(JSON.parse(held.data ?? '{}') as StoredCardBinding), blocked: true };
    return this.changeCard(uid, 'add', data, 'blocked a card');
  }

  /** Removes a card's binding: terminals then deny it with card_unknown. */
  async unbindCard(uid: Uint8Array): Promise<number> {
    return this.changeCard(uid, 'remove', undefined, 'unbound a card');
  }

  private async changeCard(
    uid: Uint8Array,
    state: 'add' | 'remove',
    data: StoredCardBinding | undefined,
    what: string,
  ): Promise<number> {
    const key = this.cardKeyHex(uid);
    const current = await this.store.listElements('cards', 0);
    const same = current.elements.find((e) => e.kind === 'card' && e.key === key);
    const json = data ? JSON.stringify(data) : undefined;
    if (same && same.state === state && (state === 'remove' || same.data === json)) return current.version;
    if (!same && state === 'remove') return current.version;
    return this.change('cards', [{ kind: 'card', key, state, ...(json ? { data: json } : {}) }], what);
  }

  /** Revokes a credential serial (32 hex characters). Resolves once the new delta is published. */
  async revoke(ctiHex: string): Promise<number> {
    const key = assertCti(ctiHex);
    return this.change('revocation', [{ kind: 'serial', key, state: 'add' }], 'revoked a credential');
  }

  async unrevoke(ctiHex: string): Promise<number> {
    const key = assertCti(ctiHex);
    return this.change('revocation', [{ kind: 'serial', key, state: 'remove' }], 'lifted a revocation');
  }

  async suspend(sub: string): Promise<number> {
    assertSubject(sub);
    return this.change('revocation', [{ kind: 'subject', key: sub, state: 'add' }], 'suspended a member');
  }

  async unsuspend(sub: string): Promise<number> {
    assertSubject(sub);
    return this.change('revocation', [{ kind: 'subject', key: sub, state: 'remove' }], 'lifted a suspension');
  }

  /** Adds an issuer key to the trust list; returns the list version (unchanged if already trusted as given). */
  async trustIssuerKey(k: Omit<TrustedIssuerKey, 'kid'>): Promise<number> {
    asInvalidInput('publicKey', () => assertPublicKey(k.alg, k.publicKey, 'publicKey'));
    if (!k.issuer) throw new InvalidInput('issuer', 'required');
    const data: StoredIssuerKey = { alg: k.alg, publicKey: toHex(k.publicKey), issuer: k.issuer };
    if (k.notBefore !== undefined) data.notBefore = k.notBefore;
    if (k.notAfter !== undefined) data.notAfter = k.notAfter;
    const kid = toHex(keyId(k.publicKey));
    // Idempotent: trusting a key that is already trusted as given makes no new list version.
    const current = await this.store.listElements('trust', 0);
    const same = current.elements.find((e) => e.kind === 'key' && e.key === kid);
    if (same?.state === 'add' && same.data === JSON.stringify(data)) return current.version;
    return this.change(
      'trust',
      [{ kind: 'key', key: kid, state: 'add', data: JSON.stringify(data) }],
      'trusted an issuer key',
    );
  }

  async distrustIssuerKey(kidHex: string): Promise<number> {
    if (!/^[0-9a-f]{16}$/.test(kidHex)) throw new InvalidInput('kid', 'expected 16 hex characters');
    return this.change('trust', [{ kind: 'key', key: kidHex, state: 'remove' }], 'removed an issuer key');
  }

  /**
   * Takes over an issuer folder (`passgate issuer … --dir`) when central starts with `--issuer`: every
   * serial it revoked and member it suspended that central does not hold yet, in one change; and list
   * versions moved past the folder's, so a terminal that first loaded the folder's signed lists accepts
   * central's instead of refusing them as a rollback. Idempotent: a second call changes nothing.
   */
  async adoptIssuerFolder(folder: {
    revoked: readonly string[];
    suspended: readonly string[];
    versions: { trust: number; revocation: number; cards?: number };
    /** Card bindings by UID hash (the folder's card key is central's: same hashes). */
    cards?: ReadonlyArray<{ h: string; sub: string; ent: Entitlement[]; exp?: number; blocked?: boolean }>;
  }): Promise<{ trust: number; revocation: number }> {
    const held = await this.store.listElements('revocation', 0);
    const active = new Set(held.elements.filter((e) => e.state === 'add').map((e) => `${e.kind}:${e.key}`));
    const changes: Parameters<CentralStore['changeList']>[1] = [];
    for (const cti of folder.revoked)
      if (!active.has(`serial:${cti.toLowerCase()}`))
        changes.push({ kind: 'serial', key: cti.toLowerCase(), state: 'add' });
    for (const sub of folder.suspended)
      if (!active.has(`subject:${sub}`)) changes.push({ kind: 'subject', key: sub, state: 'add' });
    let revocation = held.version;
    if (changes.length > 0 || revocation <= folder.versions.revocation)
      revocation = await this.change(
        'revocation',
        changes,
        'took over the issuer folder revocations',
        folder.versions.revocation + 1,
      );
    const heldCards = await this.store.listElements('cards', 0);
    const cardChanges: Parameters<CentralStore['changeList']>[1] = [];
    for (const c of folder.cards ?? []) {
      const data: StoredCardBinding = { sub: c.sub, ent: c.ent };
      if (c.exp !== undefined) data.exp = c.exp;
      if (c.blocked) data.blocked = true;
      if (!heldCards.elements.some((e) => e.kind === 'card' && e.key === c.h && e.state === 'add'))
        cardChanges.push({ kind: 'card', key: c.h, state: 'add', data: JSON.stringify(data) });
    }
    if (cardChanges.length > 0 || heldCards.version <= (folder.versions.cards ?? 1))
      await this.change(
        'cards',
        cardChanges,
        'took over the issuer folder card bindings',
        (folder.versions.cards ?? 1) + 1,
      );
    let trust = (await this.store.listState('trust')).version;
    if (trust <= folder.versions.trust)
      trust = await this.change(
        'trust',
        [],
        'moved the trust list past the issuer folder',
        folder.versions.trust + 1,
      );
    return { trust, revocation };
  }

  private async change(
    type: 'trust' | 'revocation' | 'cards',
    changes: Parameters<CentralStore['changeList']>[1],
    what: string,
    minVersion?: number,
  ): Promise<number> {
    const version = await this.store.changeList(type, changes, minVersion);
    this.log.info({ type, version }, what);
    await this.publisher.changed(type);
    return version;
  }
}
