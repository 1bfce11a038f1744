// The terminal registry: registering a terminal's enrollment key (with its broker secret, shown once),
// one-time enrollment codes, and redeeming them.
import { createHash } from 'node:crypto';
import { newEnrollmentCode, normalizeEnrollmentCode } from '../shared/enrollment-code.js';
import type { Logger } from 'pino';
import type { EnrollmentResult, TerminalCredentials } from '../shared/admin-api.js';
import { toHex } from '../shared/bytes.js';
import { assertPublicKey, type Alg } from '../shared/keys.js';
import { assertTerminalId } from '../shared/sync.js';
import { CENTRAL_USER } from './broker-auth.js';
import { DEFAULT_SCRYPT_COST, hashSecret, mosquittoHash, newSecret } from './secrets.js';
import type { CentralStore } from './store/types.js';

const ROLE = /^[a-z][a-z0-9-]{0,31}$/;

function assertRole(role: string): void {
  if (!ROLE.test(role))
    throw new RangeError(`role: "${role}" must be 1-32 lowercase letters, digits or dashes`);
}

export function hashCode(code: string): string {
  return createHash('sha256').update(normalizeEnrollmentCode(code)).digest('hex');
}

export interface RegistryOptions {
  store: CentralStore;
  log: Logger;
  listPublicKey: Uint8Array;
  /** Where terminals connect (told to them at enrollment). */
  mqttUrl: () => string;
  protocolVersion: 4 | 5;
  scryptCost?: number;
  heartbeatMs?: number;
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
    assertTerminalId(id, 'terminal');
    if (id === CENTRAL_USER) throw new RangeError(`terminal: "${CENTRAL_USER}" is reserved`);
    assertRole(role);
    assertPublicKey(alg, publicKey, 'publicKey');
    const { store } = this.opts;
    if (await store.terminal(id)) throw new RangeError(`terminal: "${id}" is already registered`);
    const password = newSecret();
    await store.addTerminal({
      id,
      role,
      alg,
      publicKey,
      secretHash: await hashSecret(password, this.opts.scryptCost ?? DEFAULT_SCRYPT_COST),
      mosquittoHash: mosquittoHash(password),
      createdAt: Date.now(),
    });
    this.opts.onTerminalChanged(id);
    this.opts.log.info({ terminal: id, role }, 'registered a terminal');
    return { terminalId: id, username: id, password };
  }

  /** A one-time enrollment code for `passgate issuer enroll-code` / provisioning (valid ttlMs, default 24 h). */
  async createEnrollmentCode(terminal: string, role: string, ttlMs = 24 * 3_600_000): Promise<string> {
    assertTerminalId(terminal, 'terminal');
    assertRole(role);
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
    assertPublicKey(alg, publicKey, 'publicKey');
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
      mqtt: { url: this.opts.mqttUrl(), protocolVersion: this.opts.protocolVersion },
      config: { role: grant.role, heartbeatMs: this.opts.heartbeatMs ?? 30_000 },
    };
  }
}
