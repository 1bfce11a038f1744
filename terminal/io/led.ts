// LEDs and a buzzer on GPIO lines: a pattern per outcome (accept: green + one short beep; deny: red +
// beeps). A pattern is alternating on/off durations per channel, played without holding up decisions;
// a new decision cuts the pattern in progress.
import type { Logger } from 'pino';
import type { GateSignal } from '../outputs/output.js';
import type { Blink, LedChannel, LedOutputConfig } from './config.js';
import type { DeviceHealth, OutputDevice } from './device.js';
import { GpioLine } from './gpio.js';

/** The switch times of one channel's blink: [{at, on}] relative to the start, ending off. */
export function blinkSteps(blink: Blink): Array<{ at: number; on: boolean }> {
  const steps: Array<{ at: number; on: boolean }> = [];
  let t = 0;
  blink.forEach((ms, i) => {
    steps.push({ at: t, on: i % 2 === 0 });
    t += ms;
  });
  steps.push({ at: t, on: false });
  return steps;
}

export class LedOutput implements OutputDevice {
  readonly type = 'led';
  readonly name: string;
  private readonly lines = new Map<LedChannel, GpioLine>();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly config: LedOutputConfig,
    logger: Logger,
  ) {
    this.name = config.name;
    for (const [channel, line] of Object.entries(config.lines) as Array<[LedChannel, number]>)
      this.lines.set(channel, new GpioLine({ ...config, line }, logger.child({ channel })));
  }

  async start(): Promise<void> {
    for (const l of this.lines.values()) {
      l.start();
      if (l.health().state === 'ok') await l.set(false);
    }
  }

  async show(s: GateSignal): Promise<void> {
    this.cancel();
    const pattern = this.config.patterns[s.decision];
    for (const [channel, line] of this.lines) {
      const blink = pattern[channel];
      const steps = blink ? blinkSteps(blink) : [{ at: 0, on: false }];
      for (const step of steps) {
        if (step.at === 0) await line.set(step.on);
        else {
          const t = setTimeout(() => void line.set(step.on), step.at);
          t.unref();
          this.timers.push(t);
        }
      }
    }
  }

  private cancel(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  health(): DeviceHealth {
    for (const [channel, l] of this.lines) {
      const h = l.health();
      if (h.state !== 'ok') return { state: h.state, reason: `${h.reason ?? 'unavailable'} (${channel})` };
    }
    return { state: 'ok' };
  }

  async stop(): Promise<void> {
    this.cancel();
    for (const l of this.lines.values()) {
      if (l.health().state === 'ok') await l.set(false);
      l.stop();
    }
  }
}
