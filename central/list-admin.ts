// Changes to the lists central publishes: revocations, suspensions and trusted issuer keys. Each change
// is one stored list version, published before the call resolves.
import type { Logger } from 'pino';
import { toHex } from '../shared/bytes.js';
import { assertPublicKey, keyId } from '../shared/keys.js';
import type { TrustedIssuerKey } from '../shared/store.js';
import type { ListPublisher, StoredIssuerKey } from './lists.js';
import type { CentralStore } from './store/types.js';

const CTI_HEX = /^[0-9a-f]{32}$/;

function assertCti(ctiHex: string): string {
  const key = ctiHex.toLowerCase();
  if (!CTI_HEX.test(key))
    throw new RangeError('cti: expected 32 hex characters (the 16-byte credential serial)');
  return key;
}

function assertSubject(sub: string): void {
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128)
    throw new RangeError('sub: 1-128 characters');
}

export class ListAdmin {
  constructor(
    private readonly store: CentralStore,
    private readonly publisher: ListPublisher,
    private readonly log: Logger,
  ) {}

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
    assertPublicKey(k.alg, k.publicKey, 'publicKey');
    if (!k.issuer) throw new RangeError('issuer: required');
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
    if (!/^[0-9a-f]{16}$/.test(kidHex)) throw new RangeError('kid: expected 16 hex characters');
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
    versions: { trust: number; revocation: number };
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
    type: 'trust' | 'revocation',
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
