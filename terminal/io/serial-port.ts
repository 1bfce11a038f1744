// A serial port that comes back: opened at start, re-opened every `reopenMs` after it vanished (USB
// unplugged, a pty closed), reporting health all along. The only file that imports serialport.
// SerialPort.list() is never called: it spawns udevadm, and where udev is missing that kills Node.
import { SerialPort } from 'serialport';
import type { Logger } from 'pino';
import type { DeviceHealth } from './device.js';

export interface SerialOptions {
  path: string;
  baudRate: number;
  reopenMs: number;
}

export class ReopeningSerialPort {
  private port: SerialPort | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private state: DeviceHealth = { state: 'absent', reason: 'not_opened' };
  /** Called after every (re-)open: an output sets its idle state here. */
  onOpen: () => void = () => undefined;
  /** Called whenever health changes. */
  onHealthChange: () => void = () => undefined;

  constructor(
    private readonly opts: SerialOptions,
    private readonly logger: Logger,
    private readonly onData: (chunk: Buffer) => void = () => undefined,
  ) {}

  health(): DeviceHealth {
    return this.state;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  /** Tries once now; when it fails, keeps trying in the background (start never fails for a missing port). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.open();
  }

  private open(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      let port: SerialPort;
      try {
        port = new SerialPort({ path: this.opts.path, baudRate: this.opts.baudRate, autoOpen: false });
      } catch (err) {
        this.lost({ state: 'fault', reason: `bad_port: ${(err as Error).message}` });
        return resolve();
      }
      port.open((err) => {
        if (err) {
          const code = /ENOENT|No such file/i.test(err.message)
            ? { state: 'absent' as const, reason: 'port_missing' }
            : /EACCES|Permission denied/i.test(err.message)
              ? { state: 'fault' as const, reason: 'permission_denied: add the user to the dialout group' }
              : { state: 'fault' as const, reason: `open_failed: ${err.message}` };
          this.lost(code);
          return resolve();
        }
        if (this.stopped) {
          port.close(() => resolve());
          return;
        }
        this.port = port;
        this.state = { state: 'ok' };
        this.onHealthChange();
        this.logger.info({ path: this.opts.path }, 'serial port open');
        port.on('data', (chunk: Buffer) => this.onData(chunk));
        port.on('error', (e: Error) => this.logger.warn({ err: e.message }, 'serial port error'));
        port.on('close', () => {
          if (this.port !== port) return;
          this.port = undefined;
          this.lost({ state: 'absent', reason: 'port_gone' });
        });
        try {
          this.onOpen();
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'serial port open hook failed');
        }
        resolve();
      });
    });
  }

  private lost(h: DeviceHealth): void {
    if (this.state.reason !== h.reason)
      this.logger.warn({ path: this.opts.path, ...h }, 'serial port unavailable');
    this.state = h;
    this.onHealthChange();
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.open();
    }, this.opts.reopenMs);
    this.timer.unref();
  }

  /** Writes and waits until the bytes left the process; false when the port is not open or the write failed. */
  write(bytes: Uint8Array): Promise<boolean> {
    const port = this.port;
    if (!port?.isOpen) return Promise.resolve(false);
    return new Promise((resolve) => {
      port.write(Buffer.from(bytes), (err) => {
        if (err) return resolve(false);
        port.drain((e) => resolve(!e));
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.state = { state: 'absent', reason: 'stopped' };
  }
}
