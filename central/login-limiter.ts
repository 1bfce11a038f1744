// Login rate limits for the embedded broker (issue 8 item 2). Failures are counted per source address
// and per username in fixed one-minute windows. Over the address limit, a login from that address is
// refused without checking the secret — unless that address logged in as that username within the last
// day. Over the username limit, logins are still checked (a check is one HMAC, and refusing them would
// let anyone lock a terminal out by flooding its id), but failures are no longer logged one by one.
// Checks run at most `concurrency` at a time with a bounded queue, so a flood cannot make honest logins
// wait (terminals give up at 10 s).

export interface LoginLimits {
  failuresPerAddress: number;
  failuresPerUsername: number;
  windowMs: number;
  concurrency: number;
  maxQueued: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  failuresPerAddress: 30,
  failuresPerUsername: 30,
  windowMs: 60_000,
  concurrency: 4,
  maxQueued: 500,
};

const KNOWN_PAIR_MS = 24 * 3_600_000;
const MAX_TRACKED = 100_000;

interface Window {
  start: number;
  failures: number;
}

export type LoginGate = 'ok' | 'address_limited' | 'busy';

export class LoginLimiter {
  private readonly byAddress = new Map<string, Window>();
  private readonly byUsername = new Map<string, Window>();
  private readonly knownPairs = new Map<string, number>();
  private running = 0;
  private readonly queue: Array<() => void> = [];
  refused = { address: 0, busy: 0 };

  constructor(
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  private over(map: Map<string, Window>, key: string, max: number): boolean {
    const w = map.get(key);
    return w !== undefined && this.now() - w.start < this.limits.windowMs && w.failures >= max;
  }

  /** May this attempt be checked at all? */
  gate(address: string, username: string): LoginGate {
    const pairAt = this.knownPairs.get(`${address}\n${username}`);
    if (pairAt !== undefined && this.now() - pairAt < KNOWN_PAIR_MS) return 'ok';
    if (this.over(this.byAddress, address, this.limits.failuresPerAddress)) {
      this.refused.address++;
      return 'address_limited';
    }
    return 'ok';
  }

  /** A username over its failure limit: its failures are counted, not logged one by one. */
  flooded(username: string): boolean {
    return this.over(this.byUsername, username, this.limits.failuresPerUsername);
  }

  private count(map: Map<string, Window>, key: string): void {
    const now = this.now();
    if (map.size > MAX_TRACKED) map.clear();
    const w = map.get(key);
    if (!w || now - w.start >= this.limits.windowMs) map.set(key, { start: now, failures: 1 });
    else w.failures++;
  }

  failed(address: string, username: string): void {
    this.count(this.byAddress, address);
    this.count(this.byUsername, username);
  }

  succeeded(address: string, username: string): void {
    if (this.knownPairs.size > MAX_TRACKED) this.knownPairs.clear();
    this.knownPairs.set(`${address}\n${username}`, this.now());
  }

  /** Runs `check` when a slot is free; undefined ('busy') when the queue is full. */
  async run<T>(check: () => Promise<T>): Promise<T | 'busy'> {
    if (this.running >= this.limits.concurrency) {
      if (this.queue.length >= this.limits.maxQueued) {
        this.refused.busy++;
        return 'busy';
      }
      await new Promise<void>((r) => this.queue.push(r));
    } else this.running++;
    try {
      return await check();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}
