// Who may connect to the embedded broker: central itself (a secret made at start) and registered
// terminals (their secret checked against the scrypt hash, then cached).
import type { Principal } from './acl.js';
import type { BrokerAuth } from './broker.js';
import { checkSecret, SecretCache } from './secrets.js';
import type { CentralStore } from './store/types.js';

export const CENTRAL_USER = 'central';

export class CentralBrokerAuth implements BrokerAuth {
  private readonly cache = new SecretCache();

  constructor(
    private readonly store: CentralStore,
    /** Central's own broker secret (embedded broker only). */
    private readonly centralSecret: string | undefined,
  ) {}

  async authenticate(username: string, secret: string): Promise<Principal | undefined> {
    if (username === CENTRAL_USER)
      return this.centralSecret !== undefined && secret === this.centralSecret
        ? { kind: 'central' }
        : undefined;
    if (this.cache.has(username, secret)) return { kind: 'terminal', id: username };
    const rec = await this.store.terminal(username);
    if (!rec || !(await checkSecret(secret, rec.secretHash))) return undefined;
    this.cache.remember(username, secret);
    return { kind: 'terminal', id: username };
  }

  /** A terminal's registration changed: its cached secret no longer counts. */
  forget(terminal: string): void {
    this.cache.forget(terminal);
  }
}
