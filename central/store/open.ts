// Picks the central store: PostgreSQL for a postgres:// URL, else the SQLite file.
import { PostgresCentralStore } from './postgres.js';
import { SqliteCentralStore } from './sqlite.js';
import type { CentralStore } from './types.js';

export function openStore(db: string | undefined, sqliteFile: string): CentralStore {
  if (db === undefined) return new SqliteCentralStore(sqliteFile);
  if (/^postgres(ql)?:\/\//.test(db)) return new PostgresCentralStore(db);
  throw new RangeError('--db: expected a postgres://… URL (leave it out for the embedded SQLite store)');
}
