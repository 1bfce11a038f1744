// Ordered start, reverse stop: every part that started is stopped, last first, even when a later part
// fails to start or a stop throws. Every stop step is bounded (STOP_STEP_MS): a part that hangs (a broker
// that does not answer) is logged and left behind, so a stop always finishes. The terminal daemon and
// central build themselves from these steps.
import { boundedStep, STOP_STEP_MS } from './deadline.js';

export interface StopLog {
  error(obj: object, msg: string): void;
  /** For a step cut short by its time limit (default: error). */
  warn?(obj: object, msg: string): void;
}

export class Lifecycle {
  private readonly stack: Array<{ name: string; stop: () => Promise<void> | void }> = [];

  constructor(private readonly log: StopLog) {}

  /** Records how to undo a part that has just started. */
  started(name: string, stop: () => Promise<void> | void): void {
    this.stack.push({ name, stop });
  }

  /**
   * Stops everything started so far, in reverse order, each within `stepMs`; a failing or hanging stop is
   * logged and the rest still run. True when every step finished in time.
   */
  async stopAll(stepMs = STOP_STEP_MS): Promise<boolean> {
    const parts = this.stack.splice(0).reverse();
    let clean = true;
    for (const part of parts) {
      const inTime = await boundedStep(part.stop, stepMs, (why) =>
        why === 'timeout'
          ? (this.log.warn ?? this.log.error).call(
              this.log,
              { part: part.name },
              'stop did not finish in time; going on',
            )
          : this.log.error({ err: why, part: part.name }, 'stop failed'),
      );
      clean = inTime && clean;
    }
    return clean;
  }

  /** Runs the start steps; when one throws, stops what started and rethrows. */
  async run<T>(steps: () => Promise<T>): Promise<T> {
    try {
      return await steps();
    } catch (err) {
      await this.stopAll();
      throw err;
    }
  }
}
