// Data folders hold movement profiles (pseudonym, gate, time), issued credentials and secret hashes: they
// are readable by their owner only (issue 8 item 9). Folders 0700, files 0600, including SQLite's -wal
// and -shm side files, which SQLite creates later with the process umask: so files are opened under a
// 0077 umask and chmodded after, whatever the umask of the shell that started the process.
import { chmodSync, existsSync, mkdirSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates the folder (and parents) when missing and makes it 0700. */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
}

/** Runs `open` with umask 0077 (so every file it or SQLite creates meanwhile is 0600). */
export function withPrivateUmask<T>(open: () => T): T {
  let before: number;
  try {
    before = process.umask(0o077);
  } catch {
    // worker threads cannot change the umask: the chmod after opening still applies
    return open();
  }
  try {
    return open();
  } finally {
    process.umask(before);
  }
}

/** chmod 0600 for each file that exists (a database and its -wal, -shm, -journal files). */
export function makePrivate(...files: string[]): void {
  for (const f of files) if (existsSync(f)) chmodSync(f, PRIVATE_FILE_MODE);
}

/** A SQLite database and its side files. */
export function sqliteFiles(db: string): string[] {
  return [db, `${db}-wal`, `${db}-shm`, `${db}-journal`];
}
