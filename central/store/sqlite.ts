// Central's default store: one SQLite file (WAL) in the data folder. No setup.
import Database from 'better-sqlite3';
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
import { SqliteLoanStore } from '../loans/sqlite.js';
import { LOANS_SCHEMA } from '../loans/sql.js';
import type { StoreHealth } from './outage.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS terminals (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, alg TEXT NOT NULL, public_key BLOB NOT NULL,
  secret_hash TEXT NOT NULL, mosquitto_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
  acked_seq INTEGER NOT NULL DEFAULT 0, last_seen INTEGER, status_json TEXT);
CREATE TABLE IF NOT EXISTS events (
  terminal TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL,
  received_at INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (terminal, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS list_meta (
  list_type TEXT PRIMARY KEY, version INTEGER NOT NULL, snapshot_version INTEGER NOT NULL, snapshot_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS list_elements (
  list_type TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL, data TEXT,
  version INTEGER NOT NULL, PRIMARY KEY (list_type, kind, key));
CREATE INDEX IF NOT EXISTS list_elements_version ON list_elements (list_type, version);
CREATE TABLE IF NOT EXISTS enrollment_codes (
  code_hash TEXT PRIMARY KEY, terminal TEXT NOT NULL, role TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER);
`;

export class SqliteCentralStore implements CentralStore {
  private db: Database.Database | undefined;
  readonly loans = new SqliteLoanStore(() => this.conn);

  constructor(private readonly file: string) {}

  private get conn(): Database.Database {
    if (!this.db) throw new Error('central store is not open: call init() first');
    return this.db;
  }

  private readonly startedAt = Date.now();

  /** A local file: it does not go away like a server does (a full disk fails each call instead). */
  health(): StoreHealth {
    return { state: 'ok', since: this.startedAt, outages: 0 };
  }

  async ping(): Promise<StoreHealth> {
    return this.health();
  }

  async init(): Promise<void> {
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    // FULL: an ack tells the terminal it may delete those events, so the commit must survive a power cut
    // (NORMAL in WAL mode can lose the last commits on power loss).
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    db.exec(LOANS_SCHEMA('INTEGER'));
    this.db = db;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  async addTerminal(t: NewTerminal): Promise<void> {
    this.conn
      .prepare(
        `INSERT INTO terminals (id, role, alg, public_key, secret_hash, mosquitto_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(t.id, t.role, t.alg, Buffer.from(t.publicKey), t.secretHash, t.mosquittoHash, t.createdAt);
  }

  async terminal(id: string): Promise<TerminalRecord | undefined> {
    const row = this.conn.prepare('SELECT * FROM terminals WHERE id = ?').get(id) as TerminalRow | undefined;
    return row && terminalFromRow(row);
  }

  async terminals(): Promise<TerminalRecord[]> {
    return (this.conn.prepare('SELECT * FROM terminals ORDER BY id').all() as TerminalRow[]).map(
      terminalFromRow,
    );
  }

  async recordStatus(id: string, status: TerminalStatus, seenAt: number): Promise<void> {
    this.conn
      .prepare('UPDATE terminals SET status_json = ?, last_seen = ? WHERE id = ?')
      .run(statusToJson(status), seenAt, id);
  }

  async commitBatch(terminal: string, events: TerminalEvent[], receivedAt: number): Promise<CommitResult> {
    const db = this.conn;
    const insert = db.prepare(
      'INSERT INTO events (terminal, seq, kind, at, received_at, body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    return db.transaction((): CommitResult => {
      const row = db.prepare('SELECT acked_seq FROM terminals WHERE id = ?').get(terminal) as
        { acked_seq: number } | undefined;
      if (!row) throw new Error(`unknown terminal ${terminal}`);
      let inserted = 0;
      for (const e of events)
        inserted += insert.run(terminal, e.seq, e.kind, e.at, receivedAt, eventToBytes(e)).changes;
      let acked = row.acked_seq;
      const first = events[0]?.seq ?? 0;
      if (first <= acked + 1) {
        acked = Math.max(acked, events[events.length - 1]?.seq ?? acked);
        const above = db
          .prepare('SELECT seq FROM events WHERE terminal = ? AND seq > ? ORDER BY seq LIMIT 10000')
          .pluck()
          .all(terminal, acked) as number[];
        acked = advanceContiguous(acked, above);
        if (acked !== row.acked_seq)
          db.prepare('UPDATE terminals SET acked_seq = ? WHERE id = ?').run(acked, terminal);
      }
      return { acked, inserted };
    })();
  }

  async eventCount(terminal?: string): Promise<number> {
    const stmt = terminal
      ? this.conn.prepare('SELECT count(*) FROM events WHERE terminal = ?').pluck()
      : this.conn.prepare('SELECT count(*) FROM events').pluck();
    return (terminal ? stmt.get(terminal) : stmt.get()) as number;
  }

  async events(terminal: string, afterSeq: number, limit: number): Promise<TerminalEvent[]> {
    const rows = this.conn
      .prepare('SELECT body FROM events WHERE terminal = ? AND seq > ? ORDER BY seq LIMIT ?')
      .pluck()
      .all(terminal, afterSeq, limit) as Buffer[];
    return rows.map((b) => eventFromBytes(b));
  }

  async changeList(type: CentralListType, changes: ListChange[], minVersion = 0): Promise<number> {
    const db = this.conn;
    return db.transaction((): number => {
      const version = Math.max(this.metaRow(type).version + 1, minVersion);
      db.prepare(
        'INSERT INTO list_meta (list_type, version, snapshot_version, snapshot_at) VALUES (?, ?, 0, 0) ON CONFLICT (list_type) DO UPDATE SET version = excluded.version',
      ).run(type, version);
      const upsert = db.prepare(
        `INSERT INTO list_elements (list_type, kind, key, state, data, version) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (list_type, kind, key) DO UPDATE SET state = excluded.state, data = excluded.data, version = excluded.version`,
      );
      for (const c of changes) upsert.run(type, c.kind, c.key, c.state, c.data ?? null, version);
      return version;
    })();
  }

  private metaRow(type: CentralListType): ListState {
    const row = this.conn
      .prepare('SELECT version, snapshot_version, snapshot_at FROM list_meta WHERE list_type = ?')
      .get(type) as { version: number; snapshot_version: number; snapshot_at: number } | undefined;
    return row
      ? { version: row.version, snapshotVersion: row.snapshot_version, snapshotAt: row.snapshot_at }
      : { version: 0, snapshotVersion: 0, snapshotAt: 0 };
  }

  async listState(type: CentralListType): Promise<ListState> {
    return this.metaRow(type);
  }

  async listElements(
    type: CentralListType,
    sinceVersion: number,
  ): Promise<{ version: number; elements: ListElement[] }> {
    const db = this.conn;
    return db.transaction(() => {
      const version = this.metaRow(type).version;
      const rows = db
        .prepare(
          'SELECT kind, key, state, data, version FROM list_elements WHERE list_type = ? AND version > ? ORDER BY kind, key',
        )
        .all(type, sinceVersion) as (ListElement & { data: string | null })[];
      const elements = rows.map((r) => {
        const e: ListElement = { kind: r.kind, key: r.key, state: r.state, version: r.version };
        if (r.data !== null) e.data = r.data;
        return e;
      });
      return { version, elements };
    })();
  }

  async markSnapshot(type: CentralListType, version: number, at: number): Promise<void> {
    this.conn
      .prepare(
        'UPDATE list_meta SET snapshot_version = ?, snapshot_at = ? WHERE list_type = ? AND snapshot_version <= ?',
      )
      .run(version, at, type, version);
  }

  async addEnrollmentCode(codeHash: string, grant: EnrollmentGrant, expiresAt: number): Promise<void> {
    this.conn
      .prepare('INSERT INTO enrollment_codes (code_hash, terminal, role, expires_at) VALUES (?, ?, ?, ?)')
      .run(codeHash, grant.terminal, grant.role, expiresAt);
  }

  async useEnrollmentCode(codeHash: string, now: number): Promise<EnrollmentGrant | undefined> {
    const row = this.conn
      .prepare(
        `UPDATE enrollment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?
         RETURNING terminal, role`,
      )
      .get(now, codeHash, now) as EnrollmentGrant | undefined;
    return row ? { terminal: row.terminal, role: row.role } : undefined;
  }
}
