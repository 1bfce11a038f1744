// The terminal registry: registering a terminal's enrollment key (with its broker secret, shown once),
// one-time enrollment codes, and redeeming them.
import { createHash } from 'node:crypto';
import { newEnrollmentCode, normalizeEnrollmentCode } from '../shared/enrollment-code.js';
import type { Logger } from 'pino';
import type { EnrollmentResult, TerminalCredentials } from '../shared/admin-api.js';
import { toHex } from '../shared/bytes.js';
import { assertPublicKey, type Alg } from '../shared/keys.js';
import { asInvalidInput, InvalidInput } from '../shared/errors.js';
import { assertRole, assertTerminalId } from '../shared/ids.js';
import { CENTRAL_USER } from './broker-auth.js';
import { hmacSecretHash, mosquittoHash, newSecret } from './secrets.js';
import type { CentralStore } from './store/types.js';

export function hashCode(code: string): string {
  return createHash('sha256').update(normalizeEnrollmentCode(code)).digest('hex');
}

export interface RegistryOptions {
  store: CentralStore;
  log: Logger;
  listPublicKey: Uint8Array;
  /** The fleet card key, handed to each terminal at enrollment (it writes it 0600). */
  cardKey?: Uint8Array;
  /** Where terminals connect (told to them at enrollment). */
  mqttUrl: () => string;
  protocolVersion: 4 | 5;
  scryptCost?: number;
  heartbeatMs?: number;
  /** HMAC key for terminal secrets (broker-auth.ts). */
  hmacKey: Uint8Array;
  /** Ends a terminal's live broker connection (after `retire`). */
  disconnect?: (id: string) => void;
  /** A terminal was registered (or re-registered): caches keyed by it are stale. */
  onTerminalChanged: (id: string) => void;
}

export class TerminalRegistry {
  constructor(private readonly opts: RegistryOptions) {}

  /** Registers a terminal with its enrollment public key; returns its MQTT credentials (shown once). */
  async addTerminal(
    id: string,
    role: string,
    publicKey: Uint8Array,
    alg: Alg = 'EdDSA',
  ): Promise<TerminalCredentials> {
    // The terminal config's validators (shared/ids.ts): reserved ids such as `central`, known roles.
    assertTerminalId(id, 'terminal');
    if (id === CENTRAL_USER) throw new InvalidInput('terminal', `"${CENTRAL_USER}" is reserved`);
    assertRole(role, 'role');
    asInvalidInput('publicKey', () => assertPublicKey(alg, publicKey, 'publicKey'));
    const { store } = this.opts;
    const held = await store.terminal(id);
    if (held)
      throw new InvalidInput(
        'terminal',
        `"${id}" is already registered${held.retiredAt !== undefined ? ' (retired: its id is not reused)' : ''}`,
      );
    const password = newSecret();
    await store.addTerminal({
      id,
      role,
      alg,
      publicKey,
      secretHash: hmacSecretHash(password, this.opts.hmacKey),
      mosquittoHash: mosquittoHash(password),
      createdAt: Date.now(),
    });
    this.opts.onTerminalChanged(id);
    this.opts.log.info({ terminal: id, role }, 'registered a terminal');
    return { terminalId: id, username: id, password };
  }

  /** A one-time enrollment code for `passgate issuer enroll-code` / provisioning (valid ttlMs, default 24 h). */
  async createEnrollmentCode(terminal: string, role: string, ttlMs = 24 * 3_600_000): Promise<string> {
    // Validated as the terminal config would: a code for an id or role the terminal would refuse, or for a
    // reserved or registered id, is never issued.
    assertTerminalId(terminal, 'terminal');
    assertRole(role, 'role');
    if (await this.opts.store.terminal(terminal))
      throw new InvalidInput('terminal', `"${terminal}" is already registered`);
    const code = newEnrollmentCode();
    await this.opts.store.addEnrollmentCode(hashCode(code), { terminal, role }, Date.now() + ttlMs);
    this.opts.log.info({ terminal, role }, 'created an enrollment code');
    return code;
  }

  /** Redeems a one-time code: registers the terminal's key and hands back what it needs to connect. */
  async enroll(
    code: string,
    publicKey: Uint8Array,
    alg: Alg = 'EdDSA',
  ): Promise<EnrollmentResult | undefined> {
    asInvalidInput('publicKey', () => assertPublicKey(alg, publicKey, 'publicKey'));
    const grant = await this.opts.store.useEnrollmentCode(hashCode(code), Date.now());
    if (!grant) {
      this.opts.log.warn('refused an enrollment: unknown, used or expired code');
      return undefined;
    }
    const creds = await this.addTerminal(grant.terminal, grant.role, publicKey, alg);
    return {
      ...creds,
      listKey: toHex(this.opts.listPublicKey),
      listKeyAlg: 'EdDSA',
      ...(this.opts.cardKey ? { cardKey: toHex(this.opts.cardKey) } : {}),
      mqtt: { url: this.opts.mqttUrl(), protocolVersion: this.opts.protocolVersion },
      config: { role: grant.role, heartbeatMs: this.opts.heartbeatMs ?? 30_000 },
    };
  }

  /**
   * Retires a terminal id (`passgate central retire`): its MQTT user is refused from now on and its live
   * connection is ended; its events stay; the id is never registered again (its seqs are taken).
   */
  async retire(terminal: string): Promise<{ retired: boolean; retiredAt: number }> {
    assertTerminalId(terminal, 'terminal');
    const { store } = this.opts;
    const rec = await store.terminal(terminal);
    if (!rec) throw new RangeError(`terminal: "${terminal}" is not registered`);
    const at = rec.retiredAt ?? Date.now();
    if (rec.retiredAt === undefined) {
      await store.retireTerminal(terminal, at);
      await store.addAlert({ at, kind: 'terminal_retired', terminal, detail: {} });
      this.opts.log.warn({ terminal }, 'retired a terminal: its MQTT user is revoked, its events are kept');
    }
    this.opts.onTerminalChanged(terminal);
    this.opts.disconnect?.(terminal);
    return { retired: true, retiredAt: at };
  }
}
