// A simulated terminal as its own process, with a durable SQLite outbox, for crash tests (kill -9 while
// draining) and benches. Usage:
//   node dist/testkit/sim-terminal.js DB_FILE URL USERNAME PASSWORD SECRET_KEY_HEX EVENTS LIST_KEY_HEX
// (LIST_KEY_HEX: central's list public key, which signs the acks.)
import Database from 'better-sqlite3';
import pino from 'pino';
import { fromHex } from '../shared/bytes.js';
import { decodeCbor, encodeCbor } from '../shared/cbor.js';
import { encodeEvent, readEvent, type TerminalEvent } from '../shared/events.js';
import { publicKeyFromSecret, VerifyKey } from '../shared/keys.js';
import type { TerminalStatus } from '../shared/sync.js';
import { MqttSync } from '../terminal/adapters/mqtt-sync.js';
import type { ListApplyResult, SyncPort } from '../terminal/sync-port.js';

export class SqliteOutboxPort implements SyncPort {
  private readonly db: Database.Database;

  constructor(
    readonly terminalId: string,
    file: string,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, body BLOB NOT NULL); CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER)',
    );
  }

  /** Commits events 1..n once (a restart does not commit them again). */
  seed(n: number): void {
    const done = this.db.prepare("SELECT v FROM meta WHERE k = 'seeded'").pluck().get();
    if (done !== undefined) return;
    const ins = this.db.prepare('INSERT INTO outbox (seq, body) VALUES (?, ?)');
    this.db.transaction(() => {
      for (let seq = 1; seq <= n; seq++)
        ins.run(
          seq,
          encodeCbor(
            encodeEvent({
              seq,
              kind: 'entry',
              at: 1_700_000_000_000 + seq,
              decision: 'accept',
              reason: 'ok',
            }),
          ),
        );
      this.db.prepare("INSERT INTO meta (k, v) VALUES ('seeded', ?)").run(n);
    })();
  }

  depth(): number {
    return this.db.prepare('SELECT count(*) FROM outbox').pluck().get() as number;
  }

  pendingEvents(afterSeq: number, limit: number): TerminalEvent[] {
    const rows = this.db
      .prepare('SELECT body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?')
      .pluck()
      .all(afterSeq, limit) as Buffer[];
    return rows.map(
      (b) =>
        readEvent(
          decodeCbor(new Uint8Array(b), { maxBytes: 4096, maxDepth: 4, allowedTags: [] }),
        ) as TerminalEvent,
    );
  }

  acknowledge(seq: number): void {
    this.db.prepare('DELETE FROM outbox WHERE seq <= ?').run(seq);
  }

  applySignedList(): ListApplyResult {
    return { outcome: 'already_applied', type: 'none', version: 0 };
  }

  applyTimeBeacon(): boolean {
    return true;
  }

  status(): TerminalStatus {
    return { state: 'online', at: Date.now(), outboxDepth: this.depth(), clock: 'trusted' };
  }

  onEventCommitted(): () => void {
    return () => undefined;
  }
}

async function main(): Promise<void> {
  const [file, url, username, password, secretHex, events, listKeyHex] = process.argv.slice(2);
  if (!file || !url || !username || !password || !secretHex || !events || !listKeyHex) {
    console.error('usage: sim-terminal DB_FILE URL USERNAME PASSWORD SECRET_KEY_HEX EVENTS LIST_KEY_HEX');
    process.exit(2);
  }
  const port = new SqliteOutboxPort(username, file);
  port.seed(Number(events));
  const secretKey = fromHex(secretHex);
  const sync = new MqttSync(port, {
    url,
    username,
    password,
    terminalKey: { alg: 'EdDSA', secretKey, publicKey: publicKeyFromSecret('EdDSA', secretKey) },
    listKey: new VerifyKey('EdDSA', fromHex(listKeyHex, 'LIST_KEY_HEX')),
    logger: pino({ level: 'warn' }, pino.destination(2)),
    batchSize: 20,
    heartbeatMs: 1000,
    ackTimeoutMs: 1500,
    minBackoffMs: 100,
    maxBackoffMs: 1000,
  });
  sync.start();
  const timer = setInterval(() => {
    if (port.depth() === 0) {
      clearInterval(timer);
      void sync.stop().then(() => process.exit(0));
    }
  }, 100);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\//, '/'))) void main();
