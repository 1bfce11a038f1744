// Central's scale-out store: PostgreSQL, shared by N central workers. Per-terminal commits serialise on
// the terminal's row (SELECT … FOR UPDATE), so two workers never race on the contiguous seq.
import pg from 'pg';
import type { TerminalEvent } from '../../shared/events.js';
import type { TerminalStatus } from '../../shared/sync.js';
import {
  ackAfter,
  alertFromRow,
  gapAlert,
  presentationKey,
  PRESENTATION_MEMORY_MS,
  sameBytes,
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
  Alert,
  CentralListType,
  CentralStore,
  CommitResult,
  EnrollmentGrant,
  ListChange,
  ListElement,
  ListState,
  NewTerminal,
  TerminalCredentialHashes,
  TerminalRecord,
} from './types.js';
import { PostgresLoanStore } from '../loans/postgres.js';
import { LOANS_SCHEMA } from '../loans/sql.js';

/**
 * Versioned migrations: entry i brings the schema from version i to i+1 (recorded in schema_version).
 * Append only; never edit a released entry. Version 1 is the spine's schema (IF NOT EXISTS, so it also
 * adopts a database made before versioning).
 */
export const MIGRATIONS: readonly string[] = [
  `
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
`,
  // 2: retired terminals, quarantined seq conflicts, presentations seen (cross-terminal replay), alerts.
  `
ALTER TABLE terminals ADD COLUMN IF NOT EXISTS retired_at BIGINT;
CREATE TABLE IF NOT EXISTS seq_conflicts (
  terminal TEXT NOT NULL, seq BIGINT NOT NULL, body BYTEA NOT NULL, received_at BIGINT NOT NULL,
  PRIMARY KEY (terminal, seq, body));
CREATE TABLE IF NOT EXISTS presentations (
  key TEXT PRIMARY KEY, terminal TEXT NOT NULL, seq BIGINT NOT NULL, received_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS presentations_age ON presentations (received_at);
CREATE TABLE IF NOT EXISTS alerts (
  id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, kind TEXT NOT NULL, terminal TEXT NOT NULL, detail TEXT NOT NULL);
`,
  // 3: the library loans ledger, pending returns and loan conflicts (central/loans/sql.ts; IF NOT EXISTS:
  // databases from before the numbered migrations already have them).
  LOANS_SCHEMA('BIGINT'),
];

/** Serialises schema changes between workers starting at once. */
const SCHEMA_LOCK = 7157;

const num = (v: unknown): number => Number(v);

/**
 * Brings the database to the newest schema under a session advisory lock (several workers may start at
 * once). The lock is released whether the migration succeeded or not: a failed migration must not leave
 * the next worker waiting forever.
 */
async function migrate(client: pg.ClientBase): Promise<void> {
  let locked = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
    locked = true;
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
    const current = r.rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length)
      throw new Error(
        `central database schema version ${current} is newer than this passgate (${MIGRATIONS.length}); upgrade passgate`,
      );
    for (let v = current; v < MIGRATIONS.length; v++) {
      await client.query('BEGIN');
      try {
        await client.query(MIGRATIONS[v]!);
        await client.query('INSERT INTO schema_version (version) VALUES ($1)', [v + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]).catch(() => undefined);
  }
}

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

/** The terminal's acked seq, its row locked until the transaction ends (two workers never race on it). */
async function lockAckedSeq(c: pg.PoolClient, terminal: string): Promise<number> {
  const row = await c.query<{ acked_seq: string }>(
    'SELECT acked_seq FROM terminals WHERE id = $1 FOR UPDATE',
    [terminal],
  );
  if (!row.rows[0]) throw new Error(`unknown terminal ${terminal}`);
  return num(row.rows[0].acked_seq);
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
    // Every client keeps a listener for its whole life: pg-pool drops its own while a client is checked
    // out, and an 'error' event with no listener ends the process.
    pool.on('connect', (client) => client.on('error', (err) => this.tracker.failed(err)));
    pool.on('error', (err) => {
      // An idle client died (server restart): the pool drops it and connects anew on the next call.
      this.tracker.failed(err);
    });
    this.pool = pool;
    await this.run(
      // Several workers may start at once: migrate() serialises on an advisory lock and releases it
      // whatever happens (the lock is per session and this client goes back to the pool).
      (client) => migrate(client),
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

  async replaceTerminalCredentials(id: string, c: TerminalCredentialHashes): Promise<boolean> {
    const r = await this.db.query(
      'UPDATE terminals SET alg = $1, public_key = $2, secret_hash = $3, mosquitto_hash = $4 WHERE id = $5',
      [c.alg, Buffer.from(c.publicKey), c.secretHash, c.mosquittoHash, id],
    );
    return r.rowCount === 1;
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

  async setSecretHash(id: string, secretHash: string): Promise<void> {
    await this.query('UPDATE terminals SET secret_hash = $1 WHERE id = $2', [secretHash, id]);
  }

  async retireTerminal(id: string, at: number): Promise<boolean> {
    const r = await this.query('UPDATE terminals SET retired_at = coalesce(retired_at, $1) WHERE id = $2', [
      at,
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async commitBatch(terminal: string, events: TerminalEvent[], receivedAt: number): Promise<CommitResult> {
    return this.tx(async (c) => {
      const before = await lockAckedSeq(c, terminal);
      const out: CommitResult = {
        acked: before,
        inserted: 0,
        beyondAck: false,
        conflicts: [],
        crossTerminal: [],
      };
      if (events.length === 0) return out;
      if (events[0]!.seq > before + 1) return { ...out, beyondAck: true };
      const bodies = events.map((e) => Buffer.from(eventToBytes(e)));
      const ins = await c.query<{ seq: string }>(
        `INSERT INTO events (terminal, seq, kind, at, received_at, body)
         SELECT $1, s, k, a, $2, b FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::bytea[]) AS u(s, k, a, b)
         ON CONFLICT DO NOTHING RETURNING seq`,
        [
          terminal,
          receivedAt,
          events.map((e) => e.seq),
          events.map((e) => e.kind),
          events.map((e) => e.at),
          bodies,
        ],
      );
      const inserted = new Set(ins.rows.map((r) => num(r.seq)));
      out.inserted = inserted.size;
      const repeated = events.filter((e) => !inserted.has(e.seq)).map((e) => e.seq);
      if (repeated.length > 0) {
        const held = await c.query<{ seq: string; body: Buffer }>(
          'SELECT seq, body FROM events WHERE terminal = $1 AND seq = ANY($2::bigint[])',
          [terminal, repeated],
        );
        const first = events[0]!.seq;
        for (const h of held.rows) {
          const seq = num(h.seq);
          const body = bodies[seq - first]!;
          if (sameBytes(h.body, body)) continue;
          await c.query(
            'INSERT INTO seq_conflicts (terminal, seq, body, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
            [terminal, seq, body, receivedAt],
          );
          out.conflicts.push(seq);
        }
      }
      for (const e of events) {
        const key = inserted.has(e.seq) ? presentationKey(e) : undefined;
        if (!key) continue;
        const p = await c.query(
          'INSERT INTO presentations (key, terminal, seq, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [key, terminal, e.seq, receivedAt],
        );
        if ((p.rowCount ?? 0) > 0) continue;
        const by = await c.query<{ terminal: string; seq: string }>(
          'SELECT terminal, seq FROM presentations WHERE key = $1',
          [key],
        );
        const other = by.rows[0];
        if (other && other.terminal !== terminal)
          out.crossTerminal.push({
            key,
            seq: e.seq,
            otherTerminal: other.terminal,
            otherSeq: num(other.seq),
          });
      }
      out.acked = ackAfter(before, events[events.length - 1]!.seq, out.conflicts);
      if (out.acked !== before)
        await c.query('UPDATE terminals SET acked_seq = $1 WHERE id = $2', [out.acked, terminal]);
      await c.query('DELETE FROM presentations WHERE received_at < $1', [
        receivedAt - PRESENTATION_MEMORY_MS,
      ]);
      return out;
    }, true);
  }

  async acceptGap(terminal: string, fromSeq: number, at: number): Promise<{ before: number; after: number }> {
    return this.tx(async (c) => {
      const before = await lockAckedSeq(c, terminal);
      const after = Math.max(before, fromSeq - 1);
      if (after !== before) {
        await c.query('UPDATE terminals SET acked_seq = $1 WHERE id = $2', [after, terminal]);
        const a = gapAlert(terminal, before, after, at);
        await c.query('INSERT INTO alerts (at, kind, terminal, detail) VALUES ($1, $2, $3, $4)', [
          a.at,
          a.kind,
          a.terminal,
          JSON.stringify(a.detail),
        ]);
      }
      return { before, after };
    }, true);
  }

  async quarantined(terminal?: string): Promise<{ terminal: string; seq: number; receivedAt: number }[]> {
    const r = terminal
      ? await this.db.query<{ terminal: string; seq: string; received_at: string }>(
          'SELECT terminal, seq, received_at FROM seq_conflicts WHERE terminal = $1 ORDER BY seq',
          [terminal],
        )
      : await this.db.query<{ terminal: string; seq: string; received_at: string }>(
          'SELECT terminal, seq, received_at FROM seq_conflicts ORDER BY terminal, seq',
          [],
        );
    return r.rows.map((x) => ({ terminal: x.terminal, seq: num(x.seq), receivedAt: num(x.received_at) }));
  }

  async addAlert(a: Omit<Alert, 'id'>): Promise<void> {
    await this.query('INSERT INTO alerts (at, kind, terminal, detail) VALUES ($1, $2, $3, $4)', [
      a.at,
      a.kind,
      a.terminal,
      JSON.stringify(a.detail),
    ]);
  }

  async alerts(limit: number): Promise<Alert[]> {
    const r = await this.db.query<{
      id: string;
      at: string;
      kind: Alert['kind'];
      terminal: string;
      detail: string;
    }>('SELECT id, at, kind, terminal, detail FROM alerts ORDER BY id DESC LIMIT $1', [limit]);
    return r.rows.map(alertFromRow);
  }

  async alertCount(): Promise<number> {
    const r = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM alerts');
    return num(r.rows[0]?.n);
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
