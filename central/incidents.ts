// What an operator sees and decides about the record (issue 8 item 4): alerts (seq conflicts, refused
// gaps, quotas, replays across terminals, retirements) and the one explicit path past a refused gap.
import type { Logger } from 'pino';
import { assertTerminalId } from '../shared/sync.js';
import type { Alert, CentralStore } from './store/types.js';

export class Incidents {
  constructor(
    private readonly store: CentralStore,
    private readonly log: Logger,
  ) {}

  async alerts(limit: number): Promise<Alert[]> {
    return this.store.alerts(Math.max(1, Math.min(limit, 1000)));
  }

  /**
   * Disaster recovery (central restored from an older backup while terminals already deleted what the
   * newer copy acked): lets `terminal` continue from `fromSeq`, recording the missing range as a
   * `gap_accepted` alert. The only way past a refused `batch_beyond_ack`; never automatic.
   */
  async acceptGap(terminal: string, fromSeq: number): Promise<{ before: number; after: number }> {
    assertTerminalId(terminal, 'terminal');
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1)
      throw new RangeError('from: the first seq the terminal still holds, a positive integer');
    if (!(await this.store.terminal(terminal)))
      throw new RangeError(`terminal: "${terminal}" is not registered`);
    const r = await this.store.acceptGap(terminal, fromSeq, Date.now());
    this.log.warn(
      { terminal, ackedBefore: r.before, ackedAfter: r.after, missing: r.after - r.before },
      r.after === r.before
        ? 'accept-gap changed nothing: central already holds events up to there'
        : 'operator accepted a gap: the missing events are recorded as lost',
    );
    return r;
  }
}
