// Opening a gate is a pulse: drive the lock's output for pulseMs, then back to idle. Shared by the
// serial relay and GPIO outputs. `failMode` says how the lock is wired:
//   locked: idle = de-energised (gate shut), pulse = energise. A dead controller leaves the gate shut.
//   open:   idle = energised (holding the gate shut), pulse = release. A dead controller, an unplugged
//           relay or a stopped daemon releases the gate (fire exits).
// show() returns once the "open" command left the process, not after the pulse: the next decision
// must not wait for the gate to close. A second accept during a pulse sends the open command again
// (harmless for a relay, and one command per committed accept keeps the audit simple) and extends it.
import type { Logger } from 'pino';
import type { FailMode } from './config.js';

export class GatePulse {
  private timer: NodeJS.Timeout | undefined;
  /** Pulses started and finished, for tests and logs. */
  pulses = 0;

  constructor(
    private readonly drive: (energised: boolean) => Promise<boolean>,
    private readonly opts: { pulseMs: number; failMode: FailMode },
    private readonly logger: Logger,
  ) {}

  private get idleEnergised(): boolean {
    return this.opts.failMode === 'open';
  }

  /** Puts the output in its idle state (after (re-)open and at start). */
  idle(): Promise<boolean> {
    return this.drive(this.idleEnergised);
  }

  async open(): Promise<boolean> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ok = await this.drive(!this.idleEnergised);
    if (!ok) {
      this.logger.error({ failMode: this.opts.failMode }, 'gate output did not take the open command');
      return false;
    }
    this.pulses++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drive(this.idleEnergised).then((back) => {
        if (!back) this.logger.error('gate output did not take the close command');
      });
    }, this.opts.pulseMs);
    return true;
  }

  /** Ends a pulse in progress and leaves the output as a stopped daemon should: de-energised. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.drive(false);
  }
}
