// A receipt printer on a serial port (serialport is imported only by adapters). Opens on start, writes a
// receipt's bytes and waits for them to drain; a printer that is gone is logged, never fatal: the
// receipt is always on screen and the loans are committed before anything is printed.
import { SerialPort } from 'serialport';
import type { Logger } from 'pino';

export class SerialReceiptPrinter {
  private port: SerialPort | undefined;

  constructor(
    private readonly opts: { path: string; baudRate: number },
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.open().catch((err: Error) =>
      this.logger.warn({ err: err.message }, 'receipt printer not available'),
    );
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path: this.opts.path, baudRate: this.opts.baudRate, autoOpen: false });
      port.on('error', (err) => this.logger.warn({ err: err.message }, 'receipt printer error'));
      port.on('close', () => {
        if (this.port === port) this.port = undefined;
      });
      port.open((err) => {
        if (err) return reject(err);
        this.port = port;
        resolve();
      });
    });
  }

  async print(bytes: Uint8Array): Promise<void> {
    if (!this.port) await this.open();
    const port = this.port!;
    await new Promise<void>((resolve, reject) =>
      port.write(Buffer.from(bytes), (err) =>
        err ? reject(err) : port.drain((e) => (e ? reject(e) : resolve())),
      ),
    );
  }

  async stop(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
