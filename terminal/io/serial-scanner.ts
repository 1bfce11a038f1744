// A serial (or USB CDC) barcode/QR scanner: line-based, configurable baud, terminator, and
// prefix/suffix stripping; re-opened when the port comes back. Bytes are decoded as latin1, so binary
// garbage reaches line hygiene as non-ASCII or control characters and is refused there, counted.
import type { Logger } from 'pino';
import type { SerialInputConfig, Terminator } from './config.js';
import type { DeviceHealth, InputDevice, InputSink } from './device.js';
import { LineFeed } from './lines.js';
import type { Scan } from './scan.js';
import { ReopeningSerialPort } from './serial-port.js';

/** Rewrites the configured terminator as LF (LineSplitter's line end); a CR left before an LF is stripped by hygiene. */
export function normalizeTerminator(chunk: string, terminator: Terminator): string {
  switch (terminator) {
    case 'lf':
    case 'crlf':
      return chunk;
    case 'cr':
    case 'auto':
      return chunk.replaceAll('\r', '\n');
    case 'tab':
      return chunk.replaceAll('\t', '\n');
  }
}

/** Strips the scanner's programmed prefix/suffix; a line without them is not from this scanner's framing. */
export function framedScan(
  line: string,
  c: Pick<SerialInputConfig, 'prefix' | 'suffix' | 'scan' | 'name' | 'direction'>,
  at: number,
): Scan | undefined {
  let text = line;
  if (c.prefix) {
    if (!text.startsWith(c.prefix)) return undefined;
    text = text.slice(c.prefix.length);
  }
  if (c.suffix) {
    if (!text.endsWith(c.suffix)) return undefined;
    text = text.slice(0, text.length - c.suffix.length);
  }
  if (text.length === 0) return undefined;
  return { kind: c.scan, text, input: c.name, at, ...(c.direction ? { direction: c.direction } : {}) };
}

export class SerialScannerInput implements InputDevice {
  readonly type = 'serial';
  onHealthChange?: () => void;
  readonly name: string;
  private port: ReopeningSerialPort | undefined;
  private feed: LineFeed | undefined;

  constructor(
    private readonly config: SerialInputConfig,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
  }

  async start(sink: InputSink): Promise<void> {
    const c = this.config;
    const feed = new LineFeed(
      { ...c, input: c.name, toScan: (line) => framedScan(line, c, Date.now()) },
      {
        scan: (s) => sink.scan(s),
        ignored: (why, input) => {
          sink.ignored(why, input);
          this.logger.warn({ why }, 'scanner line ignored');
        },
      },
    );
    this.feed = feed;
    this.port = new ReopeningSerialPort(c, this.logger, (chunk) =>
      feed.push(normalizeTerminator(chunk.toString('latin1'), c.terminator)),
    );
    this.port.onHealthChange = () => this.onHealthChange?.();
    await this.port.start();
  }

  health(): DeviceHealth {
    return this.port?.health() ?? { state: 'absent', reason: 'not_started' };
  }

  async stop(): Promise<void> {
    await this.port?.stop();
    await this.feed?.drain();
  }
}
