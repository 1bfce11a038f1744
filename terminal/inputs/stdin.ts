// Lines from standard input (a keyboard-wedge scanner, or a pipe in simulation).
import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  LineHygiene,
  LineSplitter,
  type IgnoredHandler,
  type LineHandler,
  type LineInput,
} from './line-input.js';

/**
 * Whether the end of this process's stdin means "no more codes": a pipe, a file or a terminal (Ctrl-D) was
 * feeding it. /dev/null (a service manager's default stdin) ends at once and means nothing: a daemon
 * started that way keeps running.
 */
export function stdinEndMeansDone(fd = 0): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isFile() || st.isSocket() || isatty(fd);
  } catch {
    return false;
  }
}

export class StdinLineInput implements LineInput {
  readonly name = 'stdin';
  private onData: ((chunk: string) => void) | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: { maxLineLength: number; repeatIgnoreMs: number },
    private readonly logger: Logger,
    private readonly stream: Readable = process.stdin,
    /** Called once when the stream ends (EOF: a pipe closed, Ctrl-D), after the last line was handled. */
    private readonly onEnd?: () => void,
  ) {}

  async start(handler: LineHandler, ignored: IgnoredHandler = () => undefined): Promise<void> {
    const hygiene = new LineHygiene(this.opts);
    const splitter = new LineSplitter(
      this.opts.maxLineLength,
      (raw) => {
        this.chain = this.chain.then(async () => {
          const h = hygiene.check(raw);
          if (h.ok) await handler(h.line, this.name);
          else if (h.why !== 'empty') {
            ignored(h.why, this.name);
            this.logger.warn({ why: h.why }, 'input line ignored');
          }
        });
      },
      () => {
        ignored('line_too_long', this.name);
        this.logger.warn({ why: 'line_too_long' }, 'input line ignored');
      },
    );
    this.onData = (chunk) => splitter.push(chunk);
    this.stream.setEncoding('latin1');
    this.stream.on('data', this.onData);
    this.stream.once('end', () => {
      this.logger.info('stdin closed');
      // A last line without a newline still counts (`echo -n CODE | passgate terminal start`).
      splitter.push('\n');
      void this.chain.then(() => this.onEnd?.());
    });
  }

  async stop(): Promise<void> {
    if (this.onData) this.stream.off('data', this.onData);
    this.onData = undefined;
    this.stream.pause();
    await this.chain;
  }
}
