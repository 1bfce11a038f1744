import { describe, expect, it } from 'vitest';
import { asStorageError, isStorageError, StorageError, StorageFullError, StorageIoError } from './db.js';

const sqlite = (code: string) => Object.assign(new Error(`sqlite says ${code}`), { code });

describe('storage errors', () => {
  it('a full disk, an I/O error and another database error are three different errors', () => {
    const full = asStorageError(sqlite('SQLITE_FULL'), 'cannot record the event');
    const io = asStorageError(sqlite('SQLITE_IOERR_WRITE'), 'cannot record the event');
    const busy = asStorageError(sqlite('SQLITE_BUSY'), 'cannot record the event');
    expect(full).toBeInstanceOf(StorageFullError);
    expect(io).toBeInstanceOf(StorageIoError);
    expect(io).not.toBeInstanceOf(StorageFullError);
    expect(busy).toBeInstanceOf(StorageError);
    expect(busy).not.toBeInstanceOf(StorageFullError);
    expect(busy).not.toBeInstanceOf(StorageIoError);
    expect((io as StorageError).code).toBe('SQLITE_IOERR_WRITE');
    expect((full as Error).message).toBe('cannot record the event: sqlite says SQLITE_FULL');
  });

  it('anything that is not from the database passes through unchanged and is not a storage error', () => {
    const bug = new TypeError('x is undefined');
    expect(asStorageError(bug, 'what')).toBe(bug);
    expect(isStorageError(bug)).toBe(false);
    expect(isStorageError(sqlite('SQLITE_CORRUPT'))).toBe(true);
    expect(isStorageError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
  });
});
