// The seam for anything that produces lines (stdin and TCP here; HID and serial scanners later).
// Hygiene happens at this boundary, once: bounded length, no control characters, scanner repeats dropped.

/** What the pipeline answers for one line; TCP sends it back as one JSON line. */
export type LineResponse =
  | {
      decision: 'accept' | 'deny';
      reason: string;
      seq: number | null;
      /** A kiosk's answer: the session state, the item decisions of this scan (terminal/kiosk/). */
      kiosk?: Record<string, unknown>;
    }
  | { ignored: 'line_too_long' | 'control_characters' | 'non_ascii' | 'repeat' | 'empty' | 'shutting_down' };

export type LineHandler = (line: string, source: string) => Promise<LineResponse>;
/** Told about every line hygiene dropped (for metrics); never sees the line itself. */
export type IgnoredHandler = (why: string, source: string) => void;

export interface LineInput {
  readonly name: string;
  start(handler: LineHandler, ignored?: IgnoredHandler): Promise<void>;
  stop(): Promise<void>;
}

export type HygieneResult =
  { ok: true; line: string } | { ok: false; why: Extract<LineResponse, { ignored: string }>['ignored'] };

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
