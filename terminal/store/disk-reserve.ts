// A small file of reserved space next to terminal.db. On a full disk a WAL checkpoint needs room (the
// database file grows by the pages it moves out of the WAL), and so does opening the database (the -shm
// file): without room the terminal would stay wedged, refusing every decision, through restarts. So the
// store keeps this much space reserved while the disk has room, and gives it back the moment a commit
// fails for space (then checkpoints, which lets the WAL be truncated) and at every start.
import { closeSync, existsSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class DiskReserve {
  constructor(
    readonly path: string,
    readonly bytes: number,
  ) {}

  get present(): boolean {
    try {
      return statSync(this.path).size >= this.bytes;
    } catch {
      return false;
    }
  }

  /** Frees the space; true when there was a reserve to free. */
  release(): boolean {
    if (this.bytes <= 0) return false;
    const had = existsSync(this.path);
    rmSync(this.path, { force: true });
    return had;
  }

  /** Writes the reserve when it is missing (real blocks, not a sparse file). False when the disk is full. */
  ensure(): boolean {
    if (this.bytes <= 0 || this.present) return true;
    try {
      // Leave as much again free for decisions: never take the last space for the reserve.
      const fs = statfsSync(dirname(this.path));
      if (fs.bavail * fs.bsize < 2 * this.bytes) return false;
    } catch {
      // statfs unsupported: try the write
    }
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'w', 0o600);
      const chunk = Buffer.alloc(64 * 1024);
      for (let written = 0; written < this.bytes;) {
        const n = Math.min(chunk.length, this.bytes - written);
        written += writeSync(fd, chunk, 0, n);
      }
      return true;
    } catch {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      rmSync(this.path, { force: true });
      return false;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
