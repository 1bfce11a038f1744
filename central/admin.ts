// Central's admin operations, the same for the in-process API, the HTTP admin API and the CLI, in four
// rooms on one set of options: broker auth (broker-auth.ts), list changes (list-admin.ts), the terminal
// registry with enrollment (registry.ts) and commands to terminals (commands.ts).
import type { Logger } from 'pino';
import type { KeyPair } from '../shared/keys.js';
import { CentralBrokerAuth } from './broker-auth.js';
import { CommandSender } from './commands.js';
import { Incidents } from './incidents.js';
import type { LoginLimits } from './login-limiter.js';
import { ListAdmin } from './list-admin.js';
import type { ListPublisher } from './lists.js';
import { TerminalRegistry } from './registry.js';
import type { CentralStore } from './store/types.js';

export { CENTRAL_USER } from './broker-auth.js';
export { isCommand } from './commands.js';
export { hashCode } from './registry.js';
export type { EnrollmentResult, TerminalCredentials } from '../shared/admin-api.js';

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
  heartbeatMs?: number;
  loginLimits?: LoginLimits;
  onTerminalChanged?: (id: string) => void;
  /** The fleet card key: handed to terminals at enrollment, hashes card UIDs in the cards list. */
  cardKey?: Uint8Array;
  /** Ends a terminal's live broker connection (after `retire`). */
  disconnect?: (id: string) => void;
  /** Publishes on the broker (QoS 1): commands to terminals go through it. */
  publish?: (topic: string, payload: Uint8Array, retain?: boolean) => Promise<void>;
}

export class CentralAdmin {
  readonly auth: CentralBrokerAuth;
  readonly lists: ListAdmin;
  readonly registry: TerminalRegistry;
  readonly commands: CommandSender;
  readonly incidents: Incidents;

  constructor(opts: AdminOptions) {
    const log = opts.logger.child({ component: 'admin' });
    this.auth = new CentralBrokerAuth(
      opts.store,
      opts.centralSecret,
      opts.listKey.secretKey,
      log,
      opts.loginLimits,
    );
    this.lists = new ListAdmin(opts.store, opts.publisher, log, opts.cardKey);
    this.registry = new TerminalRegistry({
      store: opts.store,
      log,
      listPublicKey: opts.listPublicKey,
      ...(opts.cardKey ? { cardKey: opts.cardKey } : {}),
      mqttUrl: opts.mqttUrl,
      hmacKey: this.auth.hmacKey,
      ...(opts.disconnect ? { disconnect: opts.disconnect } : {}),
      protocolVersion: opts.protocolVersion,
      ...(opts.scryptCost !== undefined ? { scryptCost: opts.scryptCost } : {}),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      onTerminalChanged: (id) => {
        this.auth.forget(id);
        opts.onTerminalChanged?.(id);
      },
    });
    this.commands = new CommandSender(opts.store, opts.listKey, opts.publish, log);
    this.incidents = new Incidents(opts.store, log);
  }
}
