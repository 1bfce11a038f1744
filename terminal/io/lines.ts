// Line-based inputs (stdin, TCP, serial scanners): hygiene happens at this boundary, once (bounded
// length, no control characters, scanner repeats dropped), and a line becomes a typed Scan here, so the
// pipeline never re-parses text.
import type { Direction } from '../../shared/ids.js';
import { parseUid } from '../../shared/cards.js';
import type { IgnoredWhy, InputSink, ScanResponse } from './device.js';
import type { Scan } from './scan.js';

export type HygieneResult = { ok: true; line: string } | { ok: false; why: IgnoredWhy };

/**
 * Per-input line hygiene. Leading/trailing control characters (CR, NUL, tabs that scanners append)
 * are stripped; any inside the line refuse it; so do non-ASCII characters (codes and UIDs are ASCII).
 * The same line again within repeatIgnoreMs is a scanner double read and is dropped.
 */
export class LineHygiene {
  private last: { line: string; at: number } | undefined;

  constructor(
    private readonly opts: { maxLineLength: number; repeatIgnoreMs: number },
    private readonly now: () => number = () => performance.now(),
  ) {}

  check(raw: string): HygieneResult {
    if (raw.length > this.opts.maxLineLength) return { ok: false, why: 'line_too_long' };
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/^[\x00-\x1f\x7f]+|[\x00-\x1f\x7f]+$/g, '');
    if (line.trim().length === 0) return { ok: false, why: 'empty' };
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(line)) return { ok: false, why: 'control_characters' };
    if (/[^\x20-\x7e]/.test(line)) return { ok: false, why: 'non_ascii' };
    const at = this.now();
    if (this.last && this.last.line === line && at - this.last.at < this.opts.repeatIgnoreMs)
      return { ok: false, why: 'repeat' };
    this.last = { line, at };
    return { ok: true, line };
  }
}

/**
 * Splits a byte stream into lines without ever buffering more than maxLineLength: an over-long line is
 * reported once and skipped up to its newline.
 */
export class LineSplitter {
  private buf = '';
  private skipping = false;

  constructor(
    private readonly maxLineLength: number,
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: () => void,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = nl === -1 ? chunk.slice(start) : chunk.slice(start, nl);
      if (!this.skipping) {
        this.buf += piece;
        if (this.buf.length > this.maxLineLength) {
          this.buf = '';
          this.skipping = true;
          this.onTooLong();
        }
      }
      if (nl === -1) return;
      if (!this.skipping) this.onLine(this.buf);
      this.buf = '';
      this.skipping = false;
      start = nl + 1;
    }
  }
}

const DIRECTION_PREFIX = /^(in|out) (.+)$/;
const CARD_PREFIX = /^card:(.+)$/i;

/**
 * The simulation syntax of stdin and TCP lines: `[in |out ]PAYLOAD`, where PAYLOAD is a `PG1:` code
 * or `card:UIDHEX` (stands in for a reader in tests and the demo). A direction prefix overrides the
 * input's own direction. Undefined when a `card:` line does not carry a 4, 7 or 10-byte UID.
 */
export function simulationLineToScan(
  line: string,
  input: string,
  direction: Direction | undefined,
  at: number,
): Scan | undefined {
  let text = line;
  let dir = direction;
  const prefixed = DIRECTION_PREFIX.exec(text);
  if (prefixed) {
    dir = prefixed[1] as Direction;
    text = prefixed[2]!;
  }
  const base = { input, at, ...(dir ? { direction: dir } : {}) };
  const card = CARD_PREFIX.exec(text);
  if (!card) return { kind: 'qr', text, ...base };
  const uid = parseUid(card[1]!);
  return uid ? { kind: 'card', uid, ...base } : undefined;
}

export interface LineFeedOptions {
  input: string;
  maxLineLength: number;
  repeatIgnoreMs: number;
  /** Turns one clean line into a scan; undefined refuses it as garbage. */
  toScan(line: string): Scan | undefined;
}

/**
 * One stream of lines into the pipeline: split (bounded), hygiene, typed scan, decided in arrival order.
 * `reply` hears the outcome of every line (TCP answers it; stdin and serial only count refusals).
 */
export class LineFeed {
  private readonly hygiene: LineHygiene;
  private readonly splitter: LineSplitter;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: LineFeedOptions,
    private readonly sink: InputSink,
    private readonly reply: (r: ScanResponse) => void = () => undefined,
  ) {
    this.hygiene = new LineHygiene(opts);
    this.splitter = new LineSplitter(
      opts.maxLineLength,
      (raw) => this.enqueue(() => this.line(raw)),
      () => this.enqueue(async () => this.refuse('line_too_long')),
    );
  }

  push(chunk: string): void {
    this.splitter.push(chunk);
  }

  /** Resolves when every line pushed so far was decided. */
  drain(): Promise<void> {
    return this.chain;
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch(() => undefined);
  }

  private async line(raw: string): Promise<void> {
    const h = this.hygiene.check(raw);
    if (!h.ok) {
      // A blank line (a scanner's extra CR LF) is not worth counting, but TCP still gets its answer.
      if (h.why === 'empty') this.reply({ ignored: 'empty' });
      else this.refuse(h.why);
      return;
    }
    const scan = this.opts.toScan(h.line);
    if (!scan) return this.refuse('garbage');
    this.reply(await this.sink.scan(scan));
  }

  private refuse(why: IgnoredWhy): void {
    this.sink.ignored(why, this.opts.input);
    this.reply({ ignored: why });
  }
}
