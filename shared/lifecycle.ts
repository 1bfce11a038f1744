// Ordered start, reverse stop: every part that started is stopped, last first, even when a later part
// fails to start or a stop throws. The terminal daemon and central build themselves from these steps.

export interface StopLog {
  error(obj: object, msg: string): void;
}

export class Lifecycle {
  private readonly stack: Array<{ name: string; stop: () => Promise<void> | void }> = [];

  constructor(private readonly log: StopLog) {}

  /** Records how to undo a part that has just started. */
  started(name: string, stop: () => Promise<void> | void): void {
    this.stack.push({ name, stop });
  }

  /** Stops everything started so far, in reverse order; a failing stop is logged and the rest still run. */
  async stopAll(): Promise<void> {
    const parts = this.stack.splice(0).reverse();
    for (const part of parts) {
      try {
        await part.stop();
      } catch (err) {
        this.log.error({ err, part: part.name }, 'stop failed');
      }
    }
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
