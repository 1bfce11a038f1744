// The command gate: a verified command from central runs only while fresh (signed at most 5 minutes ago
// by the terminal's clock, at most 1 minute ahead) and only once (a redelivered id is refused). Pure:
// the clock is injected.

/** A command signed longer ago than this (by the terminal's clock) is refused. */
export const COMMAND_MAX_AGE_MS = 5 * 60_000;
/** A command signed this far in the future is refused too (clock skew allowance). */
export const COMMAND_MAX_FUTURE_MS = 60_000;

export type GateVerdict = 'run' | 'outside_window' | 'already_run';

/** Where ids are kept across restarts (the terminal's SQLite; issue 8 item 8). */
export interface CommandMemory {
  alreadyRun(id: string, nowMs: number): boolean;
  /** Throws when it cannot record: the command then does not run. */
  record(id: string, expiresAtMs: number): void;
}

export class CommandGate {
  /** Command ids already run → when they may be forgotten (past the freshness window). */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly durable?: CommandMemory,
  ) {}

  /** Decides for a command signed at `t` (unix ms) with this id; 'run' also records the id. */
  admit(id: string, t: number): GateVerdict {
    const now = this.now();
    if (t < now - COMMAND_MAX_AGE_MS || t > now + COMMAND_MAX_FUTURE_MS) return 'outside_window';
    for (const [seen, expires] of this.seen) if (expires < now) this.seen.delete(seen);
    if (this.seen.has(id) || this.durable?.alreadyRun(id, now)) return 'already_run';
    // Kept until the command would be refused as too old anyway (by its own t, with the skew margin),
    // durably before it runs, so a restart cannot make it run again.
    const expires = Math.max(now, t) + COMMAND_MAX_AGE_MS + COMMAND_MAX_FUTURE_MS;
    this.durable?.record(id, expires);
    this.seen.set(id, expires);
    return 'run';
  }

  /** Ids remembered now (tests: the memory stays bounded). */
  get remembered(): number {
    return this.seen.size;
  }
}
