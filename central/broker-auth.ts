// Who may connect to the embedded broker: central itself (a secret made at start) and registered,
// unretired terminals. Terminal secrets are checked against their HMAC-SHA-256 hash (secrets.ts; a
// legacy scrypt hash is replaced on the next good login); unknown and retired users are checked against a
// dummy hash so they cost the same. Failures are rate-limited per address and checks bounded in
// concurrency (login-limiter.ts; issue 8 item 2).
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from './acl.js';
import type { BrokerAuth } from './broker.js';
import { LoginLimiter, type LoginLimits } from './login-limiter.js';
import { checkSecret, hmacSecretHash, isLegacyHash, secretHmacKey } from './secrets.js';
import type { CentralStore } from './store/types.js';

export const CENTRAL_USER = 'central';

/** Checked for unknown and retired users, so they cost what a real one does (no enumeration by timing). */
const NO_SUCH_SECRET = `hmac$${'A'.repeat(43)}`;

export class CentralBrokerAuth implements BrokerAuth {
  readonly hmacKey: Buffer;
  readonly logins: LoginLimiter;

  constructor(
    private readonly store: CentralStore,
    /** Central's own broker secret (embedded broker only). */
    private readonly centralSecret: string | undefined,
    /** The list key's secret half: the HMAC key for terminal secrets is derived from it. */
    listSecretKey: Uint8Array,
    private readonly log: Logger,
    limits?: LoginLimits,
  ) {
    this.hmacKey = secretHmacKey(listSecretKey);
    this.logins = new LoginLimiter(limits);
  }

  async authenticate(username: string, secret: string, address = ''): Promise<Principal | undefined> {
    if (username === CENTRAL_USER) {
      const want = Buffer.from(this.centralSecret ?? '');
      const got = Buffer.from(secret);
      return this.centralSecret !== undefined && got.length === want.length && timingSafeEqual(got, want)
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
      const rec = await this.store.terminal(username);
      const live = rec && rec.retiredAt === undefined ? rec : undefined;
      const good = await checkSecret(secret, live?.secretHash ?? NO_SUCH_SECRET, this.hmacKey);
      if (live && good && isLegacyHash(live.secretHash))
        await this.store.setSecretHash(live.id, hmacSecretHash(secret, this.hmacKey));
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

  /** Nothing is cached per terminal any more (an HMAC check costs microseconds); kept for the registry. */
  forget(_terminal: string): void {}
}
