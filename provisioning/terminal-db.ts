// A read-only look into terminal.db for doctor, status and decommission: opened with readonly and
// fileMustExist, so it never creates, migrates or writes the file, and works while the daemon runs
// (WAL readers do not block the writer). The daemon's own store (terminal/store/) stays the only writer.
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface DbFacts {
  integrity: string;
  sizeBytes: number;
  lastSeq: number;
  ackedSeq: number;
  outboxDepth: number;
  /** Unix ms of the oldest unsynced event (undefined when none). */
  oldestUnsyncedAt?: number;
  lists: Record<string, { version: number; issuedAt: number; appliedAt: number }>;
  lastGoodMs: number;
  lastEventAt: number;
  /** Last decisions by reason (last 500 events). */
  recentReasons: Record<string, number>;
}

export class DbUnreadable extends Error {
  override name = 'DbUnreadable';
}

function fileSize(path: string): number {
  let n = 0;
  for (const f of [path, `${path}-wal`]) if (existsSync(f)) n += statSync(f).size;
  return n;
}

/** Reads the facts; `integrity` is `ok` or what integrity_check (or opening) reported. */
export function readDb(path: string, opts: { integrity?: boolean } = {}): DbFacts {
  if (!existsSync(path))
    throw new DbUnreadable(`${path} does not exist yet (the daemon creates it on first start)`);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
  } catch (err) {
    throw new DbUnreadable(`cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    let integrity = 'not checked';
    if (opts.integrity !== false) {
      const rows = db.pragma('integrity_check(20)') as { integrity_check: string }[];
      integrity = rows.map((r) => r.integrity_check).join('; ');
      if (integrity !== 'ok') return emptyFacts(path, integrity);
    }
    const meta = new Map(
      (db.prepare('SELECT key, value FROM meta').all() as { key: string; value: number }[]).map((r) => [
        r.key,
        r.value,
      ]),
    );
    const lastSeq = meta.get('last_seq') ?? 0;
    const ackedSeq = meta.get('acked_seq') ?? 0;
    const oldest = db.prepare('SELECT MIN(at) AS at FROM outbox WHERE seq > ?').get(ackedSeq) as {
      at: number | null;
    };
    const lists: DbFacts['lists'] = {};
    for (const r of db.prepare('SELECT type, version, issued_at, applied_at FROM list_versions').all() as {
      type: string;
      version: number;
      issued_at: number;
      applied_at: number;
    }[])
      lists[r.type] = { version: r.version, issuedAt: r.issued_at, appliedAt: r.applied_at };
    const recentReasons: Record<string, number> = {};
    for (const r of db
      .prepare("SELECT json_extract(body, '$.reason') AS reason FROM outbox ORDER BY seq DESC LIMIT 500")
      .all() as { reason: string | null }[])
      if (r.reason) recentReasons[r.reason] = (recentReasons[r.reason] ?? 0) + 1;
    return {
      integrity,
      sizeBytes: fileSize(path),
      lastSeq,
      ackedSeq,
      outboxDepth: lastSeq - ackedSeq,
      ...(oldest.at !== null ? { oldestUnsyncedAt: oldest.at } : {}),
      lists,
      lastGoodMs: meta.get('last_good_ms') ?? 0,
      lastEventAt: meta.get('last_event_at') ?? 0,
      recentReasons,
    };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
      return emptyFacts(path, (err as Error).message);
    throw new DbUnreadable(`cannot read ${path}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

function emptyFacts(path: string, integrity: string): DbFacts {
  return {
    integrity,
    sizeBytes: fileSize(path),
    lastSeq: 0,
    ackedSeq: 0,
    outboxDepth: 0,
    lists: {},
    lastGoodMs: 0,
    lastEventAt: 0,
    recentReasons: {},
  };
}
