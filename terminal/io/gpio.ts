// GPIO lines for a lock, LEDs and a buzzer. libgpiod's `gpioset` when the chip exists (v1 and v2 both
// hold a value only while the process runs, so one holder process per line is kept and replaced on
// every change); the sysfs interface (`/sys/class/gpio`) when gpioset or the chip is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { GateSignal } from '../outputs/output.js';
import type { GpioOutputConfig } from './config.js';
import type { DeviceHealth, OutputDevice } from './device.js';
import { GatePulse } from './pulse.js';

export interface GpioLineOptions {
  chip: string;
  line: number;
  activeLow: boolean;
  sysfsBase: string;
}

let gpiosetVersion: 1 | 2 | 0 | undefined;
/** 1 or 2 for libgpiod's gpioset, 0 when it is not installed. Asked once. */
function gpioset(): 1 | 2 | 0 {
  if (gpiosetVersion === undefined) {
    const r = spawnSync('gpioset', ['--version'], { encoding: 'utf8', timeout: 2000 });
    gpiosetVersion = r.status === 0 ? (/v1\./.test(r.stdout) ? 1 : 2) : 0;
  }
  return gpiosetVersion;
}

/** One output line; set() resolves true when the value was applied. */
export class GpioLine {
  private holder: ChildProcess | undefined;
  private backend: 'gpiod' | 'sysfs' | undefined;
  private problem: DeviceHealth = { state: 'absent', reason: 'not_started' };

  constructor(
    private readonly opts: GpioLineOptions,
    private readonly logger: Logger,
  ) {}

  private get sysfsDir(): string {
    return join(this.opts.sysfsBase, `gpio${this.opts.line}`);
  }

  start(): void {
    if (existsSync(`/dev/${this.opts.chip}`) && gpioset() !== 0) {
      this.backend = 'gpiod';
      this.problem = { state: 'ok' };
      return;
    }
    try {
      if (!existsSync(this.sysfsDir))
        writeFileSync(join(this.opts.sysfsBase, 'export'), String(this.opts.line));
      writeFileSync(join(this.sysfsDir, 'direction'), 'out');
      if (this.opts.activeLow) writeFileSync(join(this.sysfsDir, 'active_low'), '1');
      this.backend = 'sysfs';
      this.problem = { state: 'ok' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.problem =
        code === 'EACCES'
          ? { state: 'fault', reason: 'permission_denied: add the user to the gpio group' }
          : {
              state: 'absent',
              reason: `gpio_missing: no /dev/${this.opts.chip} with gpioset and no ${this.sysfsDir}`,
            };
      this.logger.warn({ line: this.opts.line, ...this.problem }, 'gpio line unavailable');
    }
  }

  health(): DeviceHealth {
    return this.problem;
  }

  async set(active: boolean): Promise<boolean> {
    if (this.backend === 'sysfs') {
      try {
        writeFileSync(join(this.sysfsDir, 'value'), active ? '1' : '0');
        this.problem = { state: 'ok' };
        return true;
      } catch (err) {
        this.problem = {
          state: 'fault',
          reason: `write_failed: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        };
        return false;
      }
    }
    if (this.backend !== 'gpiod') return false;
    this.release();
    const v = gpioset();
    const low = this.opts.activeLow ? ['-l'] : [];
    const args =
      v === 1
        ? [...low, '--mode=signal', this.opts.chip, `${this.opts.line}=${active ? 1 : 0}`]
        : [...low, '-c', this.opts.chip, `${this.opts.line}=${active ? 1 : 0}`];
    const child = spawn('gpioset', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.holder = child;
    return new Promise((resolve) => {
      // gpioset prints nothing and keeps running once the value is set; an early exit is a failure.
      const settled = setTimeout(() => {
        child.off('exit', onExit);
        this.problem = { state: 'ok' };
        resolve(true);
      }, 30);
      const onExit = (code: number | null) => {
        clearTimeout(settled);
        if (this.holder === child) this.holder = undefined;
        this.problem = { state: 'fault', reason: `gpioset_failed: exit ${code}` };
        resolve(false);
      };
      child.once('exit', onExit);
      child.on('error', () => undefined);
    });
  }

  private release(): void {
    this.holder?.kill('SIGTERM');
    this.holder = undefined;
  }

  stop(): void {
    this.release();
  }
}

export class GpioOutput implements OutputDevice {
  readonly type = 'gpio';
  readonly name: string;
  private readonly line: GpioLine;
  readonly pulse: GatePulse;

  constructor(
    private readonly config: GpioOutputConfig,
    private readonly logger: Logger,
  ) {
    this.name = config.name;
    this.line = new GpioLine(config, logger);
    this.pulse = new GatePulse((on) => this.line.set(on), config, logger);
  }

  async start(): Promise<void> {
    this.line.start();
    if (this.line.health().state === 'ok') await this.pulse.idle();
  }

  async show(s: GateSignal): Promise<void> {
    if (s.decision !== 'accept') return;
    if (!(await this.pulse.open()))
      this.logger.error(
        { seq: s.seq },
        `gpio lock output failed: the gate did not open (it fails ${this.config.failMode})`,
      );
  }

  health(): DeviceHealth {
    return this.line.health();
  }

  async stop(): Promise<void> {
    if (this.line.health().state === 'ok') await this.pulse.stop();
    this.line.stop();
  }
}
