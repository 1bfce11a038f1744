// The list publisher's leader lease on PostgreSQL: exactly one central worker publishes lists and time
// beacons. The lease is a session-level advisory lock held on a dedicated connection (not a pooled one),
// so it lasts exactly as long as that session: a worker that dies (kill -9, crash, power cut) loses its
// TCP connection, PostgreSQL ends the session and frees the lock, and another worker's next attempt
// (every `checkEveryMs`) takes it. The same connection LISTENs for list changes made by any worker
// (`changeList` sends NOTIFY in its transaction), so the leader publishes changes made elsewhere.
import pg from 'pg';
import type { Logger } from 'pino';
import type { Leadership } from '../leadership.js';

/** pg_advisory_lock key of the list publisher (schema creation uses 7157). */
export const PUBLISHER_LOCK_KEY = 7158;
export const LIST_CHANNEL = 'passgate_lists';

export interface PgLeaseOptions {
  url: string;
  logger: Logger;
  /** How often a follower tries to take the lease and the leader checks its session (default 1 s). */
  checkEveryMs?: number;
}

export class PostgresLeaderLease implements Leadership {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private leader = false;
  private busy = false;
  private stopped = true;
  private readonly log: Logger;
  private onChange: (leader: boolean) => void = () => undefined;
  private onNotify: (payload: string) => void = () => undefined;

  constructor(private readonly opts: PgLeaseOptions) {
    this.log = opts.logger.child({ component: 'leader-lease' });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  async start(onChange: (leader: boolean) => void, onListChanged: (type: string) => void): Promise<void> {
    this.onChange = onChange;
    this.onNotify = onListChanged;
    this.stopped = false;
    const tick = async () => {
      await this.check().catch((err: Error) =>
        this.log.warn({ err: err.message }, 'leader lease check failed; trying again'),
      );
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.opts.checkEveryMs ?? 1000);
    };
    await tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // Ending the session frees the lock at once: a clean stop hands over without waiting for a timeout.
    await this.drop('stopping');
  }

  private async check(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const client = this.client ?? (await this.connect());
      if (this.leader) {
        // The lock lives as long as this session; a failed round trip means it may be gone.
        await client.query('SELECT 1');
        return;
      }
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        PUBLISHER_LOCK_KEY,
      ]);
      if (r.rows[0]?.ok === true && !this.stopped) this.setLeader(true);
    } catch (err) {
      await this.drop((err as Error).message);
      throw err;
    } finally {
      this.busy = false;
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.opts.url,
      connectionTimeoutMillis: 5_000,
      query_timeout: 5_000,
      keepAlive: true,
      application_name: 'passgate-list-publisher',
    });
    // Without a listener a server restart's 'error' event would end the process.
    client.on('error', (err) => {
      if (this.client === client) void this.drop(err.message);
    });
    client.on('notification', (msg) => {
      if (msg.channel === LIST_CHANNEL && msg.payload) this.onNotify(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${LIST_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  private async drop(why: string): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (this.leader) {
      this.log.warn({ why }, 'lost the list publisher lease');
      this.setLeader(false);
    }
    await client?.end().catch(() => undefined);
  }

  private setLeader(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    if (leader) this.log.info('took the list publisher lease: this worker publishes lists and beacons');
    try {
      this.onChange(leader);
    } catch (err) {
      this.log.error({ err }, 'leader change handler failed');
    }
  }
}
