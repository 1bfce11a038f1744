// Central's admin operations, the same for the in-process API, the HTTP admin API and the CLI:
// revoke, suspend, trust issuer keys, register terminals and enroll them with one-time codes.
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { toHex } from '../shared/bytes.js';
import { assertPublicKey, keyId, type Alg, type KeyPair } from '../shared/keys.js';
import type { TrustedIssuerKey } from '../shared/store.js';
import { assertTerminalId, COMMANDS, signCommand, topics, type Command } from '../shared/sync.js';
import type { Principal } from './acl.js';
import type { BrokerAuth } from './broker.js';
import { fleetReport } from './fleet.js';
import type { ListPublisher, StoredIssuerKey } from './lists.js';
import {
  checkSecret,
  hashSecret,
  mosquittoHash,
  newSecret,
  SecretCache,
  DEFAULT_SCRYPT_COST,
} from './secrets.js';
import type { CentralStore } from './store/types.js';

export const CENTRAL_USER = 'central';
const CTI_HEX = /^[0-9a-f]{32}$/;
const ROLE = /^[a-z][a-z0-9-]{0,31}$/;

export interface TerminalCredentials {
  terminalId: string;
  username: string;
  password: string;
}

export interface EnrollmentResult extends TerminalCredentials {
  /** Hex of the list key's Ed25519 public key: the terminal pins it. */
  listKey: string;
  listKeyAlg: Alg;
  mqtt: { url: string; protocolVersion: 4 | 5 };
  config: { role: string; heartbeatMs: number };
}

export interface AdminOptions {
  store: CentralStore;
  publisher: ListPublisher;
  logger: Logger;
  listPublicKey: Uint8Array;
  /** Signs commands to terminals (they verify with the list key they pinned). */
  listKey: KeyPair;
  /** Where terminals connect (told to them at enrollment). */
  mqttUrl: () => string;
  protocolVersion: 4 | 5;
  /** Central's own broker secret (embedded broker only). */
  centralSecret?: string;
  scryptCost?: number;
  heartbeatMs?: number;
  onTerminalChanged?: (id: string) => void;
  /** Publishes on the broker (QoS 1): commands to terminals go through it. */
  publish?: (topic: string, payload: Uint8Array, retain?: boolean) => Promise<void>;
}

export function isCommand(v: unknown): v is Command {
  return typeof v === 'string' && (COMMANDS as readonly string[]).includes(v);
}

function assertRole(role: string): void {
  if (!ROLE.test(role))
    throw new RangeError(`role: "${role}" must be 1-32 lowercase letters, digits or dashes`);
}

function assertSubject(sub: string): void {
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128)
    throw new RangeError('sub: 1-128 characters');
}

export function hashCode(code: string): string {
  return createHash('sha256').update(code.trim()).digest('hex');
}

export class CentralAdmin implements BrokerAuth {
  private readonly cache = new SecretCache();
  private readonly log: Logger;

  constructor(private readonly opts: AdminOptions) {
    this.log = opts.logger.child({ component: 'admin' });
  }

  async authenticate(username: string, secret: string): Promise<Principal | undefined> {
    if (username === CENTRAL_USER)
      return this.opts.centralSecret !== undefined && secret === this.opts.centralSecret
        ? { kind: 'central' }
        : undefined;
    if (this.cache.has(username, secret)) return { kind: 'terminal', id: username };
    const rec = await this.opts.store.terminal(username);
    if (!rec || !(await checkSecret(secret, rec.secretHash))) return undefined;
    this.cache.remember(username, secret);
    return { kind: 'terminal', id: username };
  }

  /** After a terminal's key or secret changed outside addTerminal (rotation, retirement): drop caches. */
  credentialsChanged(id: string): void {
    this.cache.forget(id);
    this.opts.onTerminalChanged?.(id);
  }

  /** Revokes a credential serial (32 hex characters). Resolves once the new delta is published. */
  async revoke(ctiHex: string): Promise<number> {
    const key = ctiHex.toLowerCase();
    if (!CTI_HEX.test(key))
      throw new RangeError('cti: expected 32 hex characters (the 16-byte credential serial)');
    return this.change('revocation', [{ kind: 'serial', key, state: 'add' }], 'revoked a credential');
  }

  async unrevoke(ctiHex: string): Promise<number> {
    const key = ctiHex.toLowerCase();
    if (!CTI_HEX.test(key))
      throw new RangeError('cti: expected 32 hex characters (the 16-byte credential serial)');
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
    const current = await this.opts.store.listElements('trust', 0);
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
    const held = await this.opts.store.listElements('revocation', 0);
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
    let trust = (await this.opts.store.listState('trust')).version;
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
    const version = await this.opts.store.changeList(type, changes, minVersion);
    this.log.info({ type, version }, what);
    await this.opts.publisher.changed(type);
    return version;
  }

  /**
   * Sends a command to one registered terminal on t/{id}/cmd (QoS 1, not retained: a terminal that is
   * offline now never gets it), signed with the list key under a fresh random id (the terminal runs each
   * id once, so a QoS 1 redelivery does nothing). Resolves once the broker has it; `online` is the
   * fleet's view at that time.
   */
  async sendCommand(terminal: string, command: string): Promise<{ online: boolean }> {
    assertTerminalId(terminal, 'terminal');
    if (!isCommand(command))
      throw new RangeError(`command: "${command.slice(0, 32)}" must be one of ${COMMANDS.join(', ')}`);
    const rec = await this.opts.store.terminal(terminal);
    if (!rec) throw new RangeError(`terminal: "${terminal}" is not registered`);
    if (!this.opts.publish) throw new Error('central has no broker link to send commands on');
    const id = randomBytes(8).toString('hex');
    const signed = signCommand(this.opts.listKey, { terminal, command, id, t: Date.now() });
    await this.opts.publish(topics.cmd(terminal), signed, false);
    const online = fleetReport([rec], Date.now()).terminals[0]?.online ?? false;
    this.log.info({ terminal, command, id, online }, 'sent a command to a terminal');
    return { online };
  }

  /** Registers a terminal with its enrollment public key; returns its MQTT credentials (shown once). */
  async addTerminal(
    id: string,
    role: string,
    publicKey: Uint8Array,
    alg: Alg = 'EdDSA',
  ): Promise<TerminalCredentials> {
    assertTerminalId(id, 'terminal');
    if (id === CENTRAL_USER) throw new RangeError(`terminal: "${CENTRAL_USER}" is reserved`);
    assertRole(role);
    assertPublicKey(alg, publicKey, 'publicKey');
    if (await this.opts.store.terminal(id)) throw new RangeError(`terminal: "${id}" is already registered`);
    const password = newSecret();
    await this.opts.store.addTerminal({
      id,
      role,
      alg,
      publicKey,
      secretHash: await hashSecret(password, this.opts.scryptCost ?? DEFAULT_SCRYPT_COST),
      mosquittoHash: mosquittoHash(password),
      createdAt: Date.now(),
    });
    this.cache.forget(id);
    this.opts.onTerminalChanged?.(id);
    this.log.info({ terminal: id, role }, 'registered a terminal');
    return { terminalId: id, username: id, password };
  }

  /** A one-time enrollment code for `passgate issuer enroll-code` / provisioning (valid ttlMs, default 24 h). */
  async createEnrollmentCode(terminal: string, role: string, ttlMs = 24 * 3_600_000): Promise<string> {
    assertTerminalId(terminal, 'terminal');
    assertRole(role);
    const code = randomBytes(10).toString('base64url');
    await this.opts.store.addEnrollmentCode(hashCode(code), { terminal, role }, Date.now() + ttlMs);
    this.log.info({ terminal, role }, 'created an enrollment code');
    return code;
  }

  /** Redeems a one-time code: registers the terminal's key and hands back what it needs to connect. */
  async enroll(
    code: string,
    publicKey: Uint8Array,
    alg: Alg = 'EdDSA',
  ): Promise<EnrollmentResult | undefined> {
    assertPublicKey(alg, publicKey, 'publicKey');
    const grant = await this.opts.store.useEnrollmentCode(hashCode(code), Date.now());
    if (!grant) {
      this.log.warn('refused an enrollment: unknown, used or expired code');
      return undefined;
    }
    const creds = await this.addTerminal(grant.terminal, grant.role, publicKey, alg);
    return {
      ...creds,
      listKey: toHex(this.opts.listPublicKey),
      listKeyAlg: 'EdDSA',
      mqtt: { url: this.opts.mqttUrl(), protocolVersion: this.opts.protocolVersion },
      config: { role: grant.role, heartbeatMs: this.opts.heartbeatMs ?? 30_000 },
    };
  }
}
