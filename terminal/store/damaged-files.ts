// The files a recovery leaves next to terminal.db: `terminal.db.damaged-<time>` (the damaged database,
// moved aside, never deleted, with its -wal/-shm) and `terminal.db.recovering` (the new database while
// it is being built). Shared by the store's open() and recoverStore() without importing either.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `${path}.damaged-<time>` for a new move; ISO time, so names sort oldest first. */
export function damagedName(path: string, now = new Date()): string {
  return `${path}.damaged-${now.toISOString().replaceAll(':', '-')}`;
}

/** `${path}.recovering`: where recoverStore builds the new database before it replaces `path`. */
export function recoveringName(path: string): string {
  return `${path}.recovering`;
}

function siblings(path: string): string[] {
  const prefix = `${basename(path)}.damaged-`;
  try {
    return readdirSync(dirname(path))
      .filter((n) => n.startsWith(prefix))
      .sort();
  } catch {
    return [];
  }
}

/** Every `${basename}.damaged-*` file next to path (databases and their -wal/-shm), by name. */
export function damagedSiblings(path: string): string[] {
  return siblings(path);
}

/** The moved-aside databases next to path (not their -wal/-shm/-journal), oldest first, full paths. */
export function damagedDatabases(path: string): string[] {
  return siblings(path)
    .filter((n) => !/-(wal|shm|journal)$/.test(n) && !n.includes('.stray-'))
    .map((n) => join(dirname(path), n));
}
