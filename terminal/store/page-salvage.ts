// Row-by-row salvage from the raw bytes of a terminal.db (and its -wal) that SQLite cannot open: what the
// sqlite3 shell's `.recover` does, limited to the two tables that are the terminal's only copy of its
// history. It walks every page, parses table-leaf pages (outbox rows: rowid = seq, record = [NULL, kind,
// at, body]) and index-leaf pages (the WITHOUT ROWID meta table: [key, value]), following overflow
// chains. Nothing here trusts the file: every length is bounds-checked, and a row counts only when its
// body is an event central would accept with the row's seq. A damaged header (first page overwritten)
// loses the page size, so the likely sizes are tried and the one that yields the most rows wins.
//
// Why not the sqlite3 CLI's `.recover`: a terminal is a Pi that may not have the sqlite3 package, and the
// salvage must run where the damage is, without network access; better-sqlite3 cannot run dot-commands.
import { existsSync, readFileSync } from 'node:fs';
import { encodeEvent, readEvent, type TerminalEvent } from '../../shared/events.js';

export interface SalvagedRow {
  seq: number;
  kind: string;
  at: number;
  body: string;
}

export interface PageSalvage {
  rows: Map<number, SalvagedRow>;
  /** The highest value seen for each meta key (old page versions included: the counters only grow). */
  meta: Map<string, number>;
  pageSize: number;
}

const PAGE_SIZES = [4096, 1024, 2048, 8192, 16384, 32768, 65536];

type Value = null | number | string | Uint8Array;

class Reader {
  constructor(private readonly buf: Buffer) {}

  u8(off: number): number {
    if (off < 0 || off >= this.buf.length) throw new RangeError('out of bounds');
    return this.buf[off]!;
  }
  u16(off: number): number {
    return (this.u8(off) << 8) | this.u8(off + 1);
  }
  u32(off: number): number {
    return this.u16(off) * 65536 + this.u16(off + 2);
  }
  /** SQLite varint: 1-9 bytes, big-endian 7 bits each, the 9th byte whole. */
  varint(off: number): [number, number] {
    let v = 0n;
    for (let i = 0; i < 9; i++) {
      const b = this.u8(off + i);
      if (i === 8) return [Number((v << 8n) | BigInt(b)), 9];
      v = (v << 7n) | BigInt(b & 0x7f);
      if ((b & 0x80) === 0) return [Number(v), i + 1];
    }
    throw new RangeError('bad varint');
  }
  slice(start: number, end: number): Buffer {
    if (start < 0 || end > this.buf.length || end < start) throw new RangeError('out of bounds');
    return this.buf.subarray(start, end);
  }
}

function decodeRecord(payload: Buffer): Value[] {
  const r = new Reader(payload);
  const [headerSize, n] = r.varint(0);
  if (headerSize > payload.length || headerSize < n) throw new RangeError('bad record header');
  const types: number[] = [];
  for (let off = n; off < headerSize;) {
    const [t, m] = r.varint(off);
    types.push(t);
    off += m;
  }
  const out: Value[] = [];
  let off = headerSize;
  for (const t of types) {
    if (t === 0) out.push(null);
    else if (t >= 1 && t <= 6) {
      const len = [0, 1, 2, 3, 4, 6, 8][t]!;
      const bytes = r.slice(off, off + len);
      let v = 0n;
      for (const b of bytes) v = (v << 8n) | BigInt(b);
      if (bytes[0]! & 0x80) v -= 1n << BigInt(len * 8);
      out.push(Number(v));
      off += len;
    } else if (t === 7) {
      out.push(r.slice(off, off + 8).readDoubleBE(0));
      off += 8;
    } else if (t === 8 || t === 9) out.push(t - 8);
    else if (t >= 12) {
      const len = Math.floor((t - 12) / 2);
      const bytes = r.slice(off, off + len);
      out.push(t % 2 === 0 ? new Uint8Array(bytes) : bytes.toString('utf8'));
      off += len;
    } else throw new RangeError('reserved serial type');
  }
  return out;
}

/** A cell's whole payload: the local part, then the overflow chain (bounded, cycle-safe). */
function payloadOf(
  file: Reader,
  pageSize: number,
  pageCount: number,
  cellStart: number,
  size: number,
  index: boolean,
): Buffer {
  const u = pageSize;
  const x = index ? Math.floor(((u - 12) * 64) / 255) - 23 : u - 35;
  if (size <= x) return file.slice(cellStart, cellStart + size);
  const m = Math.floor(((u - 12) * 32) / 255) - 23;
  let local = m + ((size - m) % (u - 4));
  if (local > x) local = m;
  const parts = [file.slice(cellStart, cellStart + local)];
  let have = local;
  let next = file.u32(cellStart + local);
  const seen = new Set<number>();
  while (have < size) {
    if (next < 1 || next > pageCount || seen.has(next)) throw new RangeError('broken overflow chain');
    seen.add(next);
    const base = (next - 1) * pageSize;
    const take = Math.min(u - 4, size - have);
    parts.push(file.slice(base + 4, base + 4 + take));
    have += take;
    next = file.u32(base);
  }
  return Buffer.concat(parts);
}

/** The event, when the row is one central would accept with this seq. */
function validRow(seq: number, rec: Value[]): SalvagedRow | undefined {
  const [, kind, at, body] = rec;
  if (rec.length !== 4 || typeof kind !== 'string' || typeof at !== 'number' || typeof body !== 'string')
    return undefined;
  try {
    const e = readEvent(encodeEvent(JSON.parse(body) as TerminalEvent));
    if (typeof e === 'string' || e.seq !== seq || e.kind !== kind) return undefined;
    return { seq, kind, at, body };
  } catch {
    return undefined;
  }
}

/** Scans one image of pages (the main file, or the pages carried by WAL frames). */
function scanPages(
  file: Reader,
  pages: Array<{ number: number; offset: number }>,
  pageSize: number,
  pageCount: number,
  metaKeys: ReadonlySet<string>,
  out: PageSalvage,
): void {
  for (const { number, offset } of pages) {
    try {
      const h = offset + (number === 1 ? 100 : 0);
      const type = file.u8(h);
      if (type !== 0x0d && type !== 0x0a) continue;
      const cells = file.u16(h + 3);
      for (let i = 0; i < cells; i++) {
        try {
          const cell = offset + file.u16(h + 8 + i * 2);
          if (cell < h + 8 || cell >= offset + pageSize) continue;
          const [size, a] = file.varint(cell);
          if (size <= 0 || size > 1 << 20) continue;
          if (type === 0x0d) {
            const [rowid, b] = file.varint(cell + a);
            const rec = decodeRecord(payloadOf(file, pageSize, pageCount, cell + a + b, size, false));
            const row = validRow(rowid, rec);
            if (row) out.rows.set(row.seq, row); // later images (WAL frames) win
          } else {
            const rec = decodeRecord(payloadOf(file, pageSize, pageCount, cell + a, size, true));
            const [key, value] = rec;
            if (rec.length === 2 && typeof key === 'string' && metaKeys.has(key) && typeof value === 'number')
              out.meta.set(key, Math.max(out.meta.get(key) ?? 0, value));
          }
        } catch {
          // one damaged cell: go on with the next
        }
      }
    } catch {
      // a damaged page: go on with the next
    }
  }
}

function salvageWith(
  main: Buffer,
  wal: Buffer | undefined,
  pageSize: number,
  metaKeys: ReadonlySet<string>,
): PageSalvage {
  const out: PageSalvage = { rows: new Map(), meta: new Map(), pageSize };
  const pageCount = Math.floor(main.length / pageSize);
  const mainPages = Array.from({ length: pageCount }, (_, i) => ({ number: i + 1, offset: i * pageSize }));
  scanPages(new Reader(main), mainPages, pageSize, pageCount, metaKeys, out);
  if (wal && wal.length > 32) {
    // WAL: a 32-byte header, then frames of a 24-byte header (page number first) and one page.
    const walPageSize = wal.readUInt32BE(8);
    if (walPageSize === pageSize) {
      const frames: Array<{ number: number; offset: number }> = [];
      for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize)
        frames.push({ number: wal.readUInt32BE(off), offset: off + 24 });
      scanPages(new Reader(wal), frames, pageSize, Math.floor(wal.length / pageSize), metaKeys, out);
    }
  }
  return out;
}

/**
 * Every valid outbox row and meta counter found in the raw bytes of `file` (and `file-wal`). The page
 * size comes from the header when it is plausible, else each common size is tried.
 */
export function salvagePages(file: string, metaKeys: readonly string[]): PageSalvage {
  const main = readFileSync(file);
  const wal = existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : undefined;
  const keys = new Set(metaKeys);
  const declared = main.length >= 18 ? main.readUInt16BE(16) : 0;
  const fromHeader = declared === 1 ? 65536 : declared;
  if (PAGE_SIZES.includes(fromHeader)) {
    const s = salvageWith(main, wal, fromHeader, keys);
    if (s.rows.size > 0) return s;
  }
  let best: PageSalvage = { rows: new Map(), meta: new Map(), pageSize: PAGE_SIZES[0]! };
  for (const size of PAGE_SIZES) {
    if (size === fromHeader) continue;
    const s = salvageWith(main, wal, size, keys);
    if (s.rows.size > best.rows.size) best = s;
  }
  return best;
}
