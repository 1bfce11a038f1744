// Central's scale-out store: PostgreSQL, shared by N central workers. Per-terminal commits serialise on
// the terminal's row (SELECT … FOR UPDATE), so two workers never race on the contiguous seq.
import pg from 'pg';
import type { TerminalEvent } from '../../shared/events.js';
import type { TerminalStatus } from '../../shared/sync.js';
import {
  advanceContiguous,
  eventFromBytes,
  eventToBytes,
  statusToJson,
  terminalFromRow,
  type TerminalRow,
} from './codec.js';
import {
  DEFAULT_RETRY,
  isTransientDbError,
  OutageTracker,
  withRetry,
  type RetryPolicy,
  type StoreHealth,
} from './outage.js';
import { LIST_CHANNEL } from './pg-lease.js';
import type {
  CentralListType,
  CentralStore,
  CommitResult,
  EnrollmentGrant,
  ListChange,
  ListElement,
  ListState,
  NewTerminal,
  TerminalRecord,
} from './types.js';
import { PostgresLoanStore } from '../loans/postgres.js';
import { LOANS_SCHEMA } from '../loans/sql.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS terminals (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, alg TEXT NOT NULL, public_key BYTEA NOT NULL,
  secret_hash TEXT NOT NULL, mosquitto_hash TEXT NOT NULL, created_at BIGINT NOT NULL,
  acked_seq BIGINT NOT NULL DEFAULT 0, last_seen BIGINT, status_json TEXT);
CREATE TABLE IF NOT EXISTS events (
  terminal TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL,
  received_at BIGINT NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (terminal, seq));
CREATE TABLE IF NOT EXISTS list_meta (
  list_type TEXT PRIMARY KEY, version BIGINT NOT NULL, snapshot_version BIGINT NOT NULL, snapshot_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS list_elements (
  list_type TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, data TEXT,
  version BIGINT NOT NULL, PRIMARY KEY (list_type, kind, key));
CREATE INDEX IF NOT EXISTS list_elements_version ON list_elements (list_type, version);
CREATE TABLE IF NOT EXISTS enrollment_codes (
  code_hash TEXT PRIMARY KEY, terminal TEXT NOT NULL, role TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT);
`;

const num = (v: unknown): number => Number(v);

export interface PostgresStoreOptions {
  poolSize?: number;
  retry?: Partial<RetryPolicy>;
  /** Told when the database goes away or comes back (central logs it and shows it in health). */
  onHealthChange?: (h: StoreHealth) => void;
}

/** A store call: `idempotent` ones are retried after any transient failure, others only before they ran. */
interface RunOptions {
  tx?: boolean;
  idempotent: boolean;
}

export class PostgresCentralStore implements CentralStore {
  private pool: pg.Pool | undefined;
  private readonly tracker: OutageTracker;
  private readonly retry: RetryPolicy;
  private readonly poolSize: number;
  /** The ledger applies each event once (loan_processed), so its transaction is safe to retry. */
  readonly loans = new PostgresLoanStore(
    () => this.db,
    (work) => this.tx(work, true),
  );

  constructor(
    private readonly url: string,
    opts: PostgresStoreOptions | number = {},
  ) {
    const o = typeof opts === 'number' ? { poolSize: opts } : opts;
    this.poolSize = o.poolSize ?? 8;
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.tracker = new OutageTracker(o.onHealthChange);
  }

  private get db(): pg.Pool {
    if (!this.pool) throw new Error('central store is not open: call init() first');
    return this.pool;
  }

  health(): StoreHealth {
    return this.tracker.health;
  }

  async ping(): Promise<StoreHealth> {
    await this.run((c) => c.query('SELECT 1'), { idempotent: true }, { ...this.retry, maxWaitMs: 0 }).catch(
      () => undefined,
    );
    return this.health();
  }

  async init(): Promise<void> {
    const pool = new pg.Pool({
      connectionString: this.url,
      max: this.poolSize,
      // A server that is down refuses at once; one that is unreachable must not hang a call forever.
      connectionTimeoutMillis: 5_000,
    });
    pool.on('error', (err) => {
      // An idle client died (server restart): the pool drops it and connects anew on the next call.
      this.tracker.failed(err);
    });
    this.pool = pool;
    await this.run(
      async (client) => {
        // Several workers may start at once: serialise the schema creation. The lock is per session and
        // this client is released, so unlock explicitly.
        await client.query('SELECT pg_advisory_lock(7157)');
        try {
          await client.query(SCHEMA);
          await client.query(LOANS_SCHEMA('BIGINT'));
        } finally {
          await client.query('SELECT pg_advisory_unlock(7157)');
        }
      },
      { idempotent: true },
    ).catch(async (err: unknown) => {
      this.pool = undefined;
      await pool.end().catch(() => undefined);
      throw err;
    });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  /**
   * Checks a client out, runs `work` (in a transaction with `tx`) and releases it, retrying transient
   * failures within the retry policy. While checked out the client has an 'error' listener of our own:
   * pg-pool removes its idle listener on checkout, and a server restart then emits 'error' on the client,
   * which without a listener would end the process. A client that failed is destroyed, not pooled.
   */
  private async run<T>(
    work: (c: pg.PoolClient) => Promise<T>,
    opts: RunOptions,
    policy: RetryPolicy = this.retry,
  ): Promise<T> {
    let started = false;
    return withRetry(
      async () => {
        started = false;
        const client = await this.db.connect();
        let broken: Error | undefined;
        const onError = (err: Error) => {
          broken = err;
          this.tracker.failed(err);
        };
        client.on('error', onError);
        try {
          started = true;
          if (opts.tx) await client.query('BEGIN');
          const out = await work(client);
          if (opts.tx) await client.query('COMMIT');
          return out;
        } catch (err) {
          broken ??= isTransientDbError(err) ? (err as Error) : undefined;
          if (opts.tx && !broken) await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          client.release(broken ?? false);
          client.off('error', onError);
        }
      },
      this.tracker,
      policy,
      () => opts.idempotent || !started,
    );
  }

  private tx<T>(work: (c: pg.PoolClient) => Promise<T>, idempotent: boolean): Promise<T> {
    return this.run(work, { tx: true, idempotent });
  }

  private query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    idempotent = true,
  ): Promise<pg.QueryResult<R>> {
    return this.run((c) => c.query<R>(text, values), { idempotent });
  }

  async addTerminal(t: NewTerminal): Promise<void> {
    await this.query(
      `INSERT INTO terminals (id, role, alg, public_key, secret_hash, mosquitto_hash, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [t.id, t.role, t.alg, Buffer.from(t.publicKey), t.secretHash, t.mosquittoHash, t.createdAt],
      false,
    );
  }

  async terminal(id: string): Promise<TerminalRecord | undefined> {
    const r = await this.query<TerminalRow>('SELECT * FROM terminals WHERE id = $1', [id]);
    return r.rows[0] && terminalFromRow(r.rows[0]);
  }

  async terminals(): Promise<TerminalRecord[]> {
    const r = await this.query<TerminalRow>('SELECT * FROM terminals ORDER BY id', []);
    return r.rows.map(terminalFromRow);
  }

  async recordStatus(id: string, status: TerminalStatus, seenAt: number): Promise<void> {
    await this.query('UPDATE terminals SET status_json = $1, last_seen = $2 WHERE id = $3', [
      statusToJson(status),
      seenAt,
      id,
    ]);
  }

  async commitBatch(terminal: string, events: TerminalEvent[], receivedAt: number): Promise<CommitResult> {
    return this.tx(async (c) => {
      const row = await c.query<{ acked_seq: string }>(
        'SELECT acked_seq FROM terminals WHERE id = $1 FOR UPDATE',
        [terminal],
      );
      if (!row.rows[0]) throw new Error(`unknown terminal ${terminal}`);
      const before = num(row.rows[0].acked_seq);
      const ins = await c.query(
        `INSERT INTO events (terminal, seq, kind, at, received_at, body)
         SELECT $1, s, k, a, $2, b FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::bytea[]) AS u(s, k, a, b)
         ON CONFLICT DO NOTHING`,
        [
          terminal,
          receivedAt,
          events.map((e) => e.seq),
          events.map((e) => e.kind),
          events.map((e) => e.at),
          events.map((e) => Buffer.from(eventToBytes(e))),
        ],
      );
      let acked = before;
      const first = events[0]?.seq ?? 0;
      if (first <= acked + 1) {
        acked = Math.max(acked, events[events.length - 1]?.seq ?? acked);
        const above = await c.query<{ seq: string }>(
          'SELECT seq FROM events WHERE terminal = $1 AND seq > $2 ORDER BY seq LIMIT 10000',
          [terminal, acked],
        );
        acked = advanceContiguous(
          acked,
          above.rows.map((r) => num(r.seq)),
        );
        if (acked !== before)
          await c.query('UPDATE terminals SET acked_seq = $1 WHERE id = $2', [acked, terminal]);
      }
      return { acked, inserted: ins.rowCount ?? 0 };
    }, true);
  }

  async eventCount(terminal?: string): Promise<number> {
    const r = terminal
      ? await this.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE terminal = $1', [terminal])
      : await this.query<{ n: string }>('SELECT count(*) AS n FROM events', []);
    return num(r.rows[0]?.n);
  }

  async events(terminal: string, afterSeq: number, limit: number): Promise<TerminalEvent[]> {
    const r = await this.query<{ body: Buffer }>(
      'SELECT body FROM events WHERE terminal = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [terminal, afterSeq, limit],
    );
    return r.rows.map((x) => eventFromBytes(x.body));
  }

  async changeList(type: CentralListType, changes: ListChange[], minVersion = 0): Promise<number> {
    return this.tx(async (c) => {
      const r = await c.query<{ version: string }>(
        `INSERT INTO list_meta (list_type, version, snapshot_version, snapshot_at) VALUES ($1, GREATEST(1, $2::bigint), 0, 0)
         ON CONFLICT (list_type) DO UPDATE SET version = GREATEST(list_meta.version + 1, $2::bigint) RETURNING version`,
        [type, minVersion],
      );
      const version = num(r.rows[0]!.version);
      // Delivered at commit to every worker's lease session: the leader publishes the change.
      await c.query('SELECT pg_notify($1, $2)', [LIST_CHANNEL, type]);
      for (const ch of changes)
        await c.query(
          `INSERT INTO list_elements (list_type, kind, key, state, data, version) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (list_type, kind, key) DO UPDATE SET state = excluded.state, data = excluded.data, version = excluded.version`,
          [type, ch.kind, ch.key, ch.state, ch.data ?? null, version],
        );
      return version;
    }, false);
  }

  async listState(type: CentralListType): Promise<ListState> {
    const r = await this.query<{ version: string; snapshot_version: string; snapshot_at: string }>(
      'SELECT version, snapshot_version, snapshot_at FROM list_meta WHERE list_type = $1',
      [type],
    );
    const row = r.rows[0];
    return row
      ? {
          version: num(row.version),
          snapshotVersion: num(row.snapshot_version),
          snapshotAt: num(row.snapshot_at),
        }
      : { version: 0, snapshotVersion: 0, snapshotAt: 0 };
  }

  async listElements(
    type: CentralListType,
    sinceVersion: number,
  ): Promise<{ version: number; elements: ListElement[] }> {
    return this.tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const m = await c.query<{ version: string }>('SELECT version FROM list_meta WHERE list_type = $1', [
        type,
      ]);
      const rows = await c.query<{
        kind: ListElement['kind'];
        key: string;
        state: ListElement['state'];
        data: string | null;
        version: string;
      }>(
        'SELECT kind, key, state, data, version FROM list_elements WHERE list_type = $1 AND version > $2 ORDER BY kind, key',
        [type, sinceVersion],
      );
      const elements = rows.rows.map((r) => {
        const e: ListElement = { kind: r.kind, key: r.key, state: r.state, version: num(r.version) };
        if (r.data !== null) e.data = r.data;
        return e;
      });
      return { version: num(m.rows[0]?.version ?? 0), elements };
    }, true);
  }

  async markSnapshot(type: CentralListType, version: number, at: number): Promise<void> {
    await this.query(
      'UPDATE list_meta SET snapshot_version = $1, snapshot_at = $2 WHERE list_type = $3 AND snapshot_version <= $1',
      [version, at, type],
    );
  }

  async addEnrollmentCode(codeHash: string, grant: EnrollmentGrant, expiresAt: number): Promise<void> {
    await this.query(
      'INSERT INTO enrollment_codes (code_hash, terminal, role, expires_at) VALUES ($1, $2, $3, $4)',
      [codeHash, grant.terminal, grant.role, expiresAt],
      false,
    );
  }

  async useEnrollmentCode(codeHash: string, now: number): Promise<EnrollmentGrant | undefined> {
    const r = await this.query<EnrollmentGrant>(
      `UPDATE enrollment_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1
       RETURNING terminal, role`,
      [now, codeHash],
      false,
    );
    const row = r.rows[0];
    return row ? { terminal: row.terminal, role: row.role } : undefined;
  }
}
