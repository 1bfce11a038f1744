// A USB serial relay board (CH340-based "LC Technology" modules): 4-byte commands
// `A0 <channel> <state> <checksum>` with checksum = (A0 + channel + state) & FF, e.g. channel 1 on
// `A0 01 01 A2`, off `A0 01 00 A1`. The board never answers, so health is the port's.
import type { Logger } from 'pino';
import type { GateSignal } from '../outputs/output.js';
import type { SerialRelayOutputConfig } from './config.js';
import { reasonCode, type DeviceHealth, type OutputDevice } from './device.js';
import { GatePulse } from './pulse.js';
import { ReopeningSerialPort } from './serial-port.js';

export function relayCommand(channel: number, on: boolean): Uint8Array {
  const state = on ? 1 : 0;
  return Uint8Array.of(0xa0, channel, state, (0xa0 + channel + state) & 0xff);
}

export class SerialRelayOutput implements OutputDevice {
  readonly type = 'serial-relay';
  onHealthChange?: () => void;
  readonly name: string;
  private readonly port: ReopeningSerialPort;
  readonly pulse: GatePulse;

  constructor(
    private readonly config: SerialRelayOutputConfig,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
    this.port = new ReopeningSerialPort(config, logger);
    this.pulse = new GatePulse((on) => this.port.write(relayCommand(config.channel, on)), config, logger);
    // After every (re-)open the board may have power-cycled: put it in its idle state.
    this.port.onOpen = () => void this.pulse.idle();
    this.port.onHealthChange = () => this.onHealthChange?.();
  }

  async start(): Promise<void> {
    await this.port.start();
  }

  async show(s: GateSignal): Promise<void> {
    if (s.decision !== 'accept') return;
    if (!this.port.isOpen) {
      this.logger.error(
        { seq: s.seq, failMode: this.config.failMode },
        `relay gone: the gate did not open (it fails ${this.config.failMode})`,
      );
      return;
    }
    await this.pulse.open();
  }

  health(): DeviceHealth {
    const h = this.port.health();
    if (h.state === 'ok') return h;
    return {
      state: h.state,
      reason: `${reasonCode(h.reason)}: relay unavailable, the gate fails ${this.config.failMode}`,
    };
  }

  async stop(): Promise<void> {
    if (this.port.isOpen) await this.pulse.stop();
    await this.port.stop();
  }
}
