// A USB HID scanner through node-hid (the only file that imports it): picks the device by path or by
// VID/PID, feeds its reports to the pure decoder (hid-decoder.ts), and re-opens it when it comes back.
import type { Logger } from 'pino';
import type { HidInputConfig } from './config.js';
import type { DeviceHealth, InputDevice, InputSink } from './device.js';
import { KeyboardReportDecoder, PosReportDecoder } from './hid-decoder.js';
import { LineFeed } from './lines.js';
import { framedScan } from './serial-scanner.js';

interface HidDevice {
  on(event: 'data', cb: (data: Buffer) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  close(): void;
}
interface HidModule {
  devices(): Array<{ path?: string; vendorId: number; productId: number }>;
  HID: new (path: string) => HidDevice;
}

export class HidScannerInput implements InputDevice {
  readonly type = 'hid';
  onHealthChange?: () => void;
  readonly name: string;
  private device: HidDevice | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private state: DeviceHealth = { state: 'absent', reason: 'not_started' };
  private feed: LineFeed | undefined;
  private hid: HidModule | undefined;

  constructor(
    private readonly config: HidInputConfig,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
  }

  async start(sink: InputSink): Promise<void> {
    const c = this.config;
    this.feed = new LineFeed(
      { ...c, input: c.name, toScan: (line) => framedScan(line, c, Date.now()) },
      sink,
    );
    try {
      const mod = (await import('node-hid')) as unknown as { default?: HidModule } & HidModule;
      this.hid = mod.default ?? mod;
    } catch (err) {
      this.state = {
        state: 'fault',
        reason: `driver_missing: node-hid did not load (${(err as Error).message})`,
      };
      return;
    }
    this.open();
  }

  private open(): void {
    if (this.stopped || !this.hid) return;
    const c = this.config;
    try {
      const path =
        c.path ??
        this.hid.devices().find((d) => d.vendorId === c.vendorId && d.productId === c.productId)?.path;
      if (!path) return this.retry({ state: 'absent', reason: 'device_missing' });
      const device = new this.hid.HID(path);
      const decoder =
        c.mode === 'pos'
          ? new PosReportDecoder()
          : new KeyboardReportDecoder({ terminator: c.terminator, layout: c.layout });
      device.on('data', (data) => {
        const text = decoder.push(new Uint8Array(data));
        if (text) this.feed?.push(text);
      });
      device.on('error', (err) => {
        this.logger.warn({ err: err.message }, 'hid device error');
        if (this.device !== device) return;
        this.device = undefined;
        try {
          device.close();
        } catch {
          // already gone
        }
        this.retry({ state: 'absent', reason: 'device_gone' });
      });
      this.device = device;
      this.state = { state: 'ok' };
      this.onHealthChange?.();
      this.logger.info({ mode: c.mode }, 'hid scanner open');
    } catch (err) {
      const m = (err as Error).message;
      this.retry(
        /permission|access/i.test(m)
          ? { state: 'fault', reason: 'permission_denied: install the hidraw udev rule (docs/hardware.md)' }
          : { state: 'absent', reason: `open_failed: ${m}` },
      );
    }
  }

  private retry(h: DeviceHealth): void {
    this.state = h;
    this.onHealthChange?.();
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, this.config.reopenMs);
    this.timer.unref();
  }

  health(): DeviceHealth {
    return this.state;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      this.device?.close();
    } catch {
      // already gone
    }
    this.device = undefined;
    await this.feed?.drain();
  }
}
