// The embedded broker's socket guard (issue 8 item 1): limits enforced on the bytes before aedes buffers
// them. aedes (mqtt-packet) accumulates a packet until its announced remaining length has arrived, with no
// upper bound, so one unauthenticated CONNECT announcing 256 MB pinned that much memory. The guard sits
// between the socket and aedes and reads only the MQTT fixed header of every packet (type byte + the
// variable-length remaining length, MQTT 3.1.1 §2.2.3), counting the bytes of each body as they pass:
// - the first packet must be CONNECT, and before the login succeeds a connection may send at most
//   `preConnectBytes` in all (a CONNECT with its will is a few KiB);
// - the login must succeed within `connectDeadlineMs` of the TCP accept;
// - after it, no packet may announce more than `maxPacketBytes` (the largest legitimate message is a
//   1 MiB event batch);
// - at most `maxConnectionsPerAddress` connections per source address at a time.
// A connection over a limit is destroyed at once, before its body is read.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { BATCH_LIMITS } from '../shared/sync.js';

export interface GuardLimits {
  maxPacketBytes: number;
  preConnectBytes: number;
  connectDeadlineMs: number;
  maxConnectionsPerAddress: number;
}

export const DEFAULT_GUARD_LIMITS: GuardLimits = {
  // a batch (BATCH_LIMITS.maxBytes) plus its topic and header
  maxPacketBytes: BATCH_LIMITS.maxBytes + 16 * 1024,
  preConnectBytes: 32 * 1024,
  connectDeadlineMs: 10_000,
  maxConnectionsPerAddress: 64,
};

export type GuardRefusal =
  'first_packet_not_connect' | 'packet_too_large' | 'pre_connect_budget' | 'connect_deadline' | 'bad_length';

const CONNECT = 1;

/** Streams the MQTT fixed headers of a byte stream; says when a limit is broken. */
export class FixedHeaderReader {
  private headerBytes = 0;
  private remaining = 0;
  private multiplier = 1;
  private inBody = 0;
  private first = true;
  private total = 0;
  authenticated = false;

  constructor(private readonly limits: GuardLimits) {}

  /** Feeds a chunk; returns why the connection must end, or undefined to pass it on. */
  push(chunk: Uint8Array): GuardRefusal | undefined {
    if (!this.authenticated) {
      this.total += chunk.length;
      if (this.total > this.limits.preConnectBytes) return 'pre_connect_budget';
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.inBody > 0) {
        const n = Math.min(this.inBody, chunk.length - i);
        this.inBody -= n;
        i += n;
        continue;
      }
      const b = chunk[i++]!;
      if (this.headerBytes === 0) {
        if (this.first && b >> 4 !== CONNECT) return 'first_packet_not_connect';
        this.first = false;
        this.headerBytes = 1;
        this.remaining = 0;
        this.multiplier = 1;
        continue;
      }
      // remaining length: up to 4 bytes, 7 bits each, low first
      this.remaining += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.headerBytes++;
      if (b & 0x80) {
        if (this.headerBytes > 4) return 'bad_length';
        continue;
      }
      const limit = this.authenticated ? this.limits.maxPacketBytes : this.limits.preConnectBytes;
      if (this.remaining > limit) return 'packet_too_large';
      this.inBody = this.remaining;
      this.headerBytes = 0;
    }
    return undefined;
  }
}

/**
 * The connection aedes sees: reads come from the socket after the guard checked them, writes go straight
 * to the socket. Backpressure passes through (the socket pauses while aedes has not read).
 */
export class GuardedConnection extends Duplex {
  readonly remoteAddress: string;
  private readonly reader: FixedHeaderReader;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    private readonly socket: Socket,
    limits: GuardLimits,
    private readonly onRefused: (why: GuardRefusal, conn: GuardedConnection) => void,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress ?? '';
    this.reader = new FixedHeaderReader(limits);
    this.deadline = setTimeout(() => this.refuse('connect_deadline'), limits.connectDeadlineMs);
    this.deadline.unref();
    socket.on('data', (chunk: Buffer) => {
      const why = this.reader.push(chunk);
      if (why) return this.refuse(why);
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      clearTimeout(this.deadline);
      if (!this.destroyed) this.destroy();
    });
  }

  /** The login succeeded: the pre-CONNECT budget and deadline no longer apply. */
  authenticated(): void {
    this.reader.authenticated = true;
    clearTimeout(this.deadline);
  }

  setNoDelay(v = true): this {
    this.socket.setNoDelay(v);
    return this;
  }

  private refuse(why: GuardRefusal): void {
    if (this.socket.destroyed) return;
    this.onRefused(why, this);
    this.socket.destroy();
    this.destroy();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) return cb();
    if (this.socket.write(chunk)) cb();
    else this.socket.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.deadline);
    if (!this.socket.destroyed) this.socket.destroy();
    cb(err);
  }
}

/** Live connections per source address. */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts the socket in (and out again when it closes); false when its address is at the cap. */
  admit(socket: Socket): boolean {
    const addr = socket.remoteAddress ?? '';
    const n = this.counts.get(addr) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(addr, n + 1);
    socket.once('close', () => {
      const left = (this.counts.get(addr) ?? 1) - 1;
      if (left <= 0) this.counts.delete(addr);
      else this.counts.set(addr, left);
    });
    return true;
  }
}
