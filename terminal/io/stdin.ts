// Lines from standard input (a keyboard-wedge scanner on a console, or a pipe in simulation).
import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { StdinInputConfig } from './config.js';
import { OK, type DeviceHealth, type InputDevice, type InputSink } from './device.js';
import { LineFeed, simulationLineToScan } from './lines.js';

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

export class StdinInput implements InputDevice {
  /** Called once when the stream ends, after the last line was handled (set before start). */
  onEnd: (() => void) | undefined;
  readonly type = 'stdin';
  readonly name: string;
  private onData: ((chunk: string) => void) | undefined;
  private feed: LineFeed | undefined;
  private ended = false;

  constructor(
    private readonly config: StdinInputConfig,
    private readonly logger: Logger,
    private readonly stream: Readable = process.stdin,
  ) {
    this.name = config.name;
  }

  async start(sink: InputSink): Promise<void> {
    const { name, direction } = this.config;
    const feed = new LineFeed(
      {
        ...this.config,
        input: name,
        toScan: (line) => simulationLineToScan(line, name, direction, Date.now()),
      },
      {
        scan: (s) => sink.scan(s),
        ignored: (why, input) => {
          sink.ignored(why, input);
          this.logger.warn({ why }, 'input line ignored');
        },
      },
    );
    this.feed = feed;
    this.onData = (chunk) => feed.push(chunk);
    this.stream.setEncoding('latin1');
    this.stream.on('data', this.onData);
    this.stream.on('end', () => {
      this.ended = true;
      this.logger.info('stdin closed');
      // A last line without a newline still counts (`echo -n CODE | passgate terminal start`).
      feed.push('\n');
      void feed.drain().then(() => this.onEnd?.());
    });
  }

  health(): DeviceHealth {
    return this.ended ? { state: 'absent', reason: 'stdin_closed' } : OK;
  }

  async stop(): Promise<void> {
    if (this.onData) this.stream.off('data', this.onData);
    this.onData = undefined;
    this.stream.pause();
    await this.feed?.drain();
  }
}
