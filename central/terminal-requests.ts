// What an enrolled terminal may ask of central itself, signed with its enrollment key
// (shared/terminal-request.ts), through the enrollment listener:
// - rotate: a new MQTT secret for a new key. Both the old and the new secret and key work while the
//   rotation is pending, so events keep flowing whichever the terminal is using.
// - rotate-commit (signed with the NEW key): only once the new secret has logged in at the broker
//   (proof the new credentials work) are they written and the old ones dropped.
// - retire: the terminal is being decommissioned; its secret stops working, its id can't be enrolled
//   again, its events stay.
// Pending rotations live in memory: if central restarts mid-rotation the commit is refused and
// `provision rotate` puts the old credentials back (they still work: nothing was revoked).
import type { Logger } from 'pino';
import { fromHex } from '../shared/bytes.js';
import { VerifyKey } from '../shared/keys.js';
import { checkTerminalRequest, type TerminalRequest } from '../shared/terminal-request.js';
import type { Principal } from './acl.js';
import type { CentralAdmin } from './admin.js';
import { checkSecret, DEFAULT_SCRYPT_COST, hashSecret, mosquittoHash, newSecret } from './secrets.js';
import type { CentralStore } from './store/types.js';

const PENDING_TTL_MS = 15 * 60_000;

interface Pending {
  key: VerifyKey;
  secretHash: string;
  mosquittoHash: string;
  /** The new secret logged in at the broker. */
  proven: boolean;
  startedAt: number;
}

export class RequestRefused extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export class TerminalRequests {
  private readonly pending = new Map<string, Pending>();
  private readonly log: Logger;

  constructor(
    private readonly opts: {
      store: CentralStore;
      admin: CentralAdmin;
      logger: Logger;
      scryptCost?: number;
    },
  ) {
    this.log = opts.logger.child({ component: 'terminal-requests' });
  }

  private live(id: string): Pending | undefined {
    const p = this.pending.get(id);
    if (p && Date.now() - p.startedAt > PENDING_TTL_MS) {
      this.pending.delete(id);
      return undefined;
    }
    return p;
  }

  /** Broker login with a pending rotation's new secret (tried after the stored one failed). */
  async authenticate(username: string, secret: string): Promise<Principal | undefined> {
    const p = this.live(username);
    if (!p || !(await checkSecret(secret, p.secretHash))) return undefined;
    if (!p.proven) this.log.info({ terminal: username }, 'rotation: the new secret logged in');
    p.proven = true;
    return { kind: 'terminal', id: username };
  }

  /** The pending rotation's new key, for event batches signed with it before the commit. */
  pendingKey(terminal: string): VerifyKey | undefined {
    return this.live(terminal)?.key;
  }

  async handle(r: TerminalRequest): Promise<Record<string, unknown>> {
    const rec = await this.opts.store.terminal(r.terminal);
    if (!rec || rec.retiredAt !== undefined)
      throw new RequestRefused(404, `terminal: "${r.terminal}" is not enrolled at this central`);
    const now = Date.now();
    const current = new VerifyKey(rec.alg, rec.publicKey);
    if (r.action === 'rotate-commit') {
      const p = this.live(r.terminal);
      if (!p)
        throw new RequestRefused(409, 'no rotation pending (central restarted or it expired): start again');
      const why = checkTerminalRequest(r, p.key, now);
      if (why) throw new RequestRefused(403, `refused: ${why}`);
      if (!p.proven)
        throw new RequestRefused(
          409,
          'not_proven: the new secret has not logged in at the broker yet; the old one still works',
        );
      await this.opts.store.replaceTerminalCredentials(r.terminal, {
        alg: p.key.alg,
        publicKey: p.key.publicKey,
        secretHash: p.secretHash,
        mosquittoHash: p.mosquittoHash,
      });
      this.pending.delete(r.terminal);
      this.opts.admin.credentialsChanged(r.terminal);
      this.log.info({ terminal: r.terminal }, 'rotation committed: the old key and secret are revoked');
      return { rotated: true, terminal: r.terminal };
    }
    const why = checkTerminalRequest(r, current, now);
    if (why) throw new RequestRefused(403, `refused: ${why}`);
    if (r.action === 'rotate') {
      const key = new VerifyKey('EdDSA', fromHex(r.publicKey!, 'publicKey'));
      const password = newSecret();
      this.pending.set(r.terminal, {
        key,
        secretHash: await hashSecret(password, this.opts.scryptCost ?? DEFAULT_SCRYPT_COST),
        mosquittoHash: mosquittoHash(password),
        proven: false,
        startedAt: now,
      });
      this.opts.admin.credentialsChanged(r.terminal);
      this.log.info({ terminal: r.terminal }, 'rotation started: old and new credentials both work');
      return { terminal: r.terminal, username: r.terminal, password };
    }
    // retire
    this.pending.delete(r.terminal);
    // central's own retirement (as `passgate central retire`): retiredAt, MQTT user refused, alert.
    await this.opts.admin.registry.retire(r.terminal);
    this.opts.admin.credentialsChanged(r.terminal);
    this.log.info({ terminal: r.terminal, unsynced: r.unsynced ?? 0 }, 'terminal retired itself');
    return { retired: true, terminal: r.terminal };
  }
}
