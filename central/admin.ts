// Central's admin operations, the same for the in-process API, the HTTP admin API and the CLI:
// revoke, suspend, trust issuer keys, register terminals and enroll them with one-time codes.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { toHex } from '../shared/bytes.js';
import { assertPublicKey, keyId, type Alg, type KeyPair } from '../shared/keys.js';
import type { TrustedIssuerKey } from '../shared/store.js';
import { assertTerminalId, COMMANDS, signCommand, topics, type Command } from '../shared/sync.js';
import type { Principal } from './acl.js';
import type { BrokerAuth } from './broker.js';
import { fleetReport } from './fleet.js';
import type { ListPublisher, StoredIssuerKey } from './lists.js';
import { assertRole as assertKnownRole, assertTerminalId as assertEnrollableId } from '../shared/ids.js';
import { LoginLimiter, type LoginLimits } from './login-limiter.js';
import {
  checkSecret,
  hmacSecretHash,
  isLegacyHash,
  mosquittoHash,
  newSecret,
  secretHmacKey,
} from './secrets.js';
import type { Alert, CentralStore } from './store/types.js';

export const CENTRAL_USER = 'central';
const CTI_HEX = /^[0-9a-f]{32}$/;

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
  /** Kept for the CLI option; terminal secrets are HMAC-hashed now (secrets.ts). */
  scryptCost?: number;
  loginLimits?: LoginLimits;
  heartbeatMs?: number;
  onTerminalChanged?: (id: string) => void;
  /** Ends a terminal's live broker connection (after `retire`). */
  disconnect?: (id: string) => void;
  /** Publishes on the broker (QoS 1): commands to terminals go through it. */
  publish?: (topic: string, payload: Uint8Array, retain?: boolean) => Promise<void>;
}

export function isCommand(v: unknown): v is Command {
  return typeof v === 'string' && (COMMANDS as readonly string[]).includes(v);
}

function assertSubject(sub: string): void {
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128)
    throw new RangeError('sub: 1-128 characters');
}

export function hashCode(code: string): string {
  return createHash('sha256').update(code.trim()).digest('hex');
}

/** Checked for unknown and retired users, so they cost what a real one does (no enumeration by timing). */
const NO_SUCH_SECRET = `hmac$${'A'.repeat(43)}`;

export class CentralAdmin implements BrokerAuth {
  private readonly log: Logger;
  private readonly hmacKey: Buffer;
  readonly logins: LoginLimiter;

  constructor(private readonly opts: AdminOptions) {
    this.log = opts.logger.child({ component: 'admin' });
    this.hmacKey = secretHmacKey(opts.listKey.secretKey);
    this.logins = new LoginLimiter(opts.loginLimits);
  }

  async authenticate(username: string, secret: string, address = ''): Promise<Principal | undefined> {
    if (username === CENTRAL_USER) {
      const want = Buffer.from(this.opts.centralSecret ?? '');
      const got = Buffer.from(secret);
      return this.opts.centralSecret !== undefined && got.length === want.length && timingSafeEqual(got, want)
        ? { kind: 'central' }
        : undefined;
    }
    const gate = this.logins.gate(address, username);
    if (gate !== 'ok') {
      this.log.warn(
        { user: username.slice(0, 64), why: gate },
        'refused an MQTT login unchecked: too many failures',
      );
      return undefined;
    }
    const ok = await this.logins.run(async () => {
      const rec = await this.opts.store.terminal(username);
      const live = rec && rec.retiredAt === undefined ? rec : undefined;
      const good = await checkSecret(secret, live?.secretHash ?? NO_SUCH_SECRET, this.hmacKey);
      if (live && good && isLegacyHash(live.secretHash))
        await this.opts.store.setSecretHash(live.id, hmacSecretHash(secret, this.hmacKey));
      return live !== undefined && good;
    });
    if (ok === 'busy') {
      this.log.warn('refused an MQTT login: too many logins being checked');
      return undefined;
    }
    if (!ok) {
      this.logins.failed(address, username);
      return undefined;
    }
    this.logins.succeeded(address, username);
    return { kind: 'terminal', id: username };
  }

  async alerts(limit: number): Promise<Alert[]> {
    return this.opts.store.alerts(Math.max(1, Math.min(limit, 1000)));
  }

  /**
   * Disaster recovery (central restored from an older backup while terminals already deleted what the
   * newer copy acked): lets `terminal` continue from `fromSeq`, recording the missing range as a
   * `gap_accepted` alert. The only way past a refused `batch_beyond_ack`; never automatic.
   */
  async acceptGap(terminal: string, fromSeq: number): Promise<{ before: number; after: number }> {
    assertTerminalId(terminal, 'terminal');
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1)
      throw new RangeError('from: the first seq the terminal still holds, a positive integer');
    const rec = await this.opts.store.terminal(terminal);
    if (!rec) throw new RangeError(`terminal: "${terminal}" is not registered`);
    const r = await this.opts.store.acceptGap(terminal, fromSeq, Date.now());
    this.log.warn(
      { terminal, ackedBefore: r.before, ackedAfter: r.after, missing: r.after - r.before },
      r.after === r.before
        ? 'accept-gap changed nothing: central already holds events up to there'
        : 'operator accepted a gap: the missing events are recorded as lost',
    );
    return r;
  }

  /**
   * Retires a terminal id (`passgate central retire`): its MQTT user is refused from now on and its live
   * connection is ended; its events stay; the id is never registered again (its seqs are taken).
   */
  async retire(terminal: string): Promise<{ retired: boolean; retiredAt: number }> {
    assertTerminalId(terminal, 'terminal');
    const rec = await this.opts.store.terminal(terminal);
    if (!rec) throw new RangeError(`terminal: "${terminal}" is not registered`);
    const at = rec.retiredAt ?? Date.now();
    if (rec.retiredAt === undefined) {
      await this.opts.store.retireTerminal(terminal, at);
      await this.opts.store.addAlert({ at, kind: 'terminal_retired', terminal, detail: {} });
      this.log.warn({ terminal }, 'retired a terminal: its MQTT user is revoked, its events are kept');
    }
    this.opts.onTerminalChanged?.(terminal);
    this.opts.disconnect?.(terminal);
    return { retired: true, retiredAt: at };
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
    if (rec.retiredAt !== undefined) throw new RangeError(`terminal: "${terminal}" is retired`);
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
    assertEnrollableId(id, 'terminal');
    assertKnownRole(role, 'role');
    assertPublicKey(alg, publicKey, 'publicKey');
    const held = await this.opts.store.terminal(id);
    if (held)
      throw new RangeError(
        `terminal: "${id}" is already registered${held.retiredAt !== undefined ? ' (retired: its id is not reused)' : ''}`,
      );
    const password = newSecret();
    await this.opts.store.addTerminal({
      id,
      role,
      alg,
      publicKey,
      secretHash: hmacSecretHash(password, this.hmacKey),
      mosquittoHash: mosquittoHash(password),
      createdAt: Date.now(),
    });
    this.opts.onTerminalChanged?.(id);
    this.log.info({ terminal: id, role }, 'registered a terminal');
    return { terminalId: id, username: id, password };
  }

  /** A one-time enrollment code for `passgate issuer enroll-code` / provisioning (valid ttlMs, default 24 h). */
  async createEnrollmentCode(terminal: string, role: string, ttlMs = 24 * 3_600_000): Promise<string> {
    // The same validators as the terminal config (shared/ids.ts): a code for an id or role the terminal
    // would refuse, or for a reserved id such as `central`, is never issued.
    assertEnrollableId(terminal, 'terminal');
    assertKnownRole(role, 'role');
    if (await this.opts.store.terminal(terminal))
      throw new RangeError(`terminal: "${terminal}" is already registered`);
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
