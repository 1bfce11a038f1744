// Device type → factory (Zigbee2MQTT's extension pattern): the daemon asks the registry for the devices
// its config lists, starts them in order and stops them in reverse. Hardware factories import their
// library lazily, so a terminal that configures no serial port never loads serialport, and one without
// nfc-pcsc installed still runs every other input.
import type { Logger } from 'pino';
import type { InputConfig, InputType, OutputConfig, OutputType } from './config.js';
import type { DeviceContext, DeviceHealth, InputDevice, OutputDevice } from './device.js';
export { reasonCode } from './device.js';

type InputFactory<T extends InputType> = (
  config: Extract<InputConfig, { type: T }>,
  ctx: DeviceContext,
) => Promise<InputDevice>;
type OutputFactory<T extends OutputType> = (
  config: Extract<OutputConfig, { type: T }>,
  ctx: DeviceContext,
) => Promise<OutputDevice>;

export const INPUT_FACTORIES: { [T in InputType]: InputFactory<T> } = {
  stdin: async (c, ctx) => new (await import('./stdin.js')).StdinInput(c, ctx.logger),
  tcp: async (c, ctx) => new (await import('./tcp.js')).TcpInput(c, ctx.logger),
  serial: async (c, ctx) => new (await import('./serial-scanner.js')).SerialScannerInput(c, ctx.logger),
  hid: async (c, ctx) => new (await import('./hid-scanner.js')).HidScannerInput(c, ctx.logger),
  pcsc: async (c, ctx) => new (await import('./pcsc/input.js')).PcscInput(c, ctx.logger),
};

export const OUTPUT_FACTORIES: { [T in OutputType]: OutputFactory<T> } = {
  console: async (c) => new (await import('./console.js')).ConsoleOutput(c.name),
  'serial-relay': async (c, ctx) => new (await import('./serial-relay.js')).SerialRelayOutput(c, ctx.logger),
  gpio: async (c, ctx) => new (await import('./gpio.js')).GpioOutput(c, ctx.logger),
  led: async (c, ctx) => new (await import('./led.js')).LedOutput(c, ctx.logger),
};

export async function buildInputs(list: InputConfig[], logger: Logger): Promise<InputDevice[]> {
  const out: InputDevice[] = [];
  for (const c of list) {
    const factory = INPUT_FACTORIES[c.type] as InputFactory<typeof c.type>;
    out.push(await factory(c as never, { logger: logger.child({ component: 'input', input: c.name }) }));
  }
  return out;
}

export async function buildOutputs(list: OutputConfig[], logger: Logger): Promise<OutputDevice[]> {
  const out: OutputDevice[] = [];
  for (const c of list) {
    const factory = OUTPUT_FACTORIES[c.type] as OutputFactory<typeof c.type>;
    out.push(await factory(c as never, { logger: logger.child({ component: 'output', output: c.name }) }));
  }
  return out;
}

export interface DeviceState extends DeviceHealth {
  kind: 'input' | 'output';
  type: string;
}

export interface HealthTransition {
  device: string;
  kind: 'input' | 'output';
  type: string;
  from: DeviceHealth['state'] | 'unknown';
  to: DeviceHealth;
}

/**
 * Polls every device's health and reports transitions (to the bus, the outbox as `reader_fault`
 * events, the log). A device that starts healthy is not an event; one that starts absent or faulty is.
 */
export class HealthWatch {
  private last = new Map<string, DeviceHealth['state']>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly devices: () => Array<{ kind: 'input' | 'output'; device: InputDevice | OutputDevice }>,
    private readonly onTransition: (t: HealthTransition) => void,
    private readonly everyMs = 250,
  ) {}

  start(): void {
    for (const { device } of this.devices()) device.onHealthChange = () => this.poll();
    this.poll();
    this.timer = setInterval(() => this.poll(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Current state of every device (and PC/SC readers as `input/reader`). */
  snapshot(): Record<string, DeviceState> {
    const out: Record<string, DeviceState> = {};
    for (const { kind, device } of this.devices()) {
      out[device.name] = { kind, type: device.type, ...safeHealth(device) };
      if (kind === 'input') {
        const details = (device as InputDevice).details?.() ?? {};
        for (const [sub, h] of Object.entries(details))
          out[`${device.name}/${sub}`] = { kind, type: device.type, ...h };
      }
    }
    return out;
  }

  poll(): void {
    for (const { kind, device } of this.devices()) {
      const h = safeHealth(device);
      const before = this.last.get(device.name);
      if (before === h.state) continue;
      this.last.set(device.name, h.state);
      if (before === undefined && h.state === 'ok') continue;
      this.onTransition({ device: device.name, kind, type: device.type, from: before ?? 'unknown', to: h });
    }
  }
}

function safeHealth(device: InputDevice | OutputDevice): DeviceHealth {
  try {
    return device.health();
  } catch (err) {
    return { state: 'fault', reason: `health_failed: ${(err as Error).message}` };
  }
}
