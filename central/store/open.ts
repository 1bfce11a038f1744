// Picks the central store: PostgreSQL for a postgres:// URL, else the SQLite file.
import { PostgresCentralStore } from './postgres.js';
import { SqliteCentralStore } from './sqlite.js';
import type { CentralStore } from './types.js';
import type { StoreHealth } from './outage.js';

export function isPostgresUrl(db: string | undefined): db is string {
  return db !== undefined && /^postgres(ql)?:\/\//.test(db);
}

export function openStore(
  db: string | undefined,
  sqliteFile: string,
  opts: { onHealthChange?: (h: StoreHealth) => void } = {},
): CentralStore {
  if (db === undefined) return new SqliteCentralStore(sqliteFile);
  if (isPostgresUrl(db)) return new PostgresCentralStore(db, opts);
  throw new RangeError('--db: expected a postgres://… URL (leave it out for the embedded SQLite store)');
}
