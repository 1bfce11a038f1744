// What central does when its database goes away (a PostgreSQL restart, failover or network cut): every
// store call retries with exponential backoff for a bounded time, the store's health says "unavailable"
// from the first failure to the next success, and nothing is acked that did not commit (ingest acks only
// after commitBatch resolved; a call that gave up rejects).
export interface StoreHealth {
  state: 'ok' | 'unavailable';
  /** Unix ms of the last change of state. */
  since: number;
  /** Outages seen since start. */
  outages: number;
  /** Why the last outage began (an error message, never a secret: connection URLs are not included). */
  lastError?: string;
}

export interface RetryPolicy {
  /** Give up after this long (default 30 s): the caller logs it and the terminal resends later. */
  maxWaitMs: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxWaitMs: 30_000, firstDelayMs: 100, maxDelayMs: 2_000 };

// SQLSTATE classes that mean "the server or the connection went away, try again": 08 connection
// exception, 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too many
// connections, 40001/40P01 serialization failure / deadlock (retrying is the documented answer).
const RETRY_SQLSTATE = /^(08...|57P0[123]|53300|40001|40P01)$/;
const RETRY_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);
const RETRY_MESSAGE =
  /Connection terminated|terminating connection|Client has encountered a connection error|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery mode)|Client was closed/i;

/** True for a failure that a later attempt can cure (the database is restarting or unreachable). */
export function isTransientDbError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'string' && (RETRY_SQLSTATE.test(code) || RETRY_ERRNO.has(code))) return true;
  return RETRY_MESSAGE.test(err.message);
}

export class OutageTracker {
  private h: StoreHealth = { state: 'ok', since: Date.now(), outages: 0 };

  constructor(private readonly onChange?: (h: StoreHealth) => void) {}

  get health(): StoreHealth {
    return { ...this.h };
  }

  failed(err: unknown): void {
    if (this.h.state === 'unavailable') return;
    this.h = {
      state: 'unavailable',
      since: Date.now(),
      outages: this.h.outages + 1,
      lastError: err instanceof Error ? err.message : String(err),
    };
    this.onChange?.(this.health);
  }

  succeeded(): void {
    if (this.h.state === 'ok') return;
    this.h = { ...this.h, state: 'ok', since: Date.now() };
    this.onChange?.(this.health);
  }
}

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error, or `policy.maxWaitMs` has passed
 * (then the last error is thrown). `retryable(err)` may narrow what is retried for an attempt that could
 * have had an effect (see PostgresCentralStore.run).
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  tracker: OutageTracker,
  policy: RetryPolicy,
  retryable: (err: unknown) => boolean = isTransientDbError,
): Promise<T> {
  const deadline = Date.now() + policy.maxWaitMs;
  let delay = policy.firstDelayMs;
  for (;;) {
    try {
      const out = await attempt();
      tracker.succeeded();
      return out;
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      tracker.failed(err);
      if (!retryable(err) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}
