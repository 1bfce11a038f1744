// A gate drawn as text lines: "OPEN" or "DENIED" with the reason, for simulation and the demo.
import type { Writable } from 'node:stream';
import type { GateSignal } from '../outputs/output.js';
import { OK, type DeviceHealth, type OutputDevice } from './device.js';

export class ConsoleOutput implements OutputDevice {
  readonly type = 'console';
  constructor(
    readonly name = 'console',
    private readonly stream: Writable = process.stdout,
  ) {}
  async start(): Promise<void> {}
  async show(s: GateSignal): Promise<void> {
    const head =
      s.decision === 'accept' ? `OPEN   ${s.gate} (${s.direction})` : `DENIED ${s.gate} (${s.direction})`;
    this.stream.write(`${head}  ${s.reason}: ${s.text}${s.seq !== null ? `  [seq ${s.seq}]` : ''}\n`);
  }
  health(): DeviceHealth {
    return OK;
  }
  async stop(): Promise<void> {}
}
