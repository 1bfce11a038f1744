import { describe, expect, it } from 'vitest';
import type { TerminalEvent } from '../../shared/events.js';
import { OutboxSender, type Batch } from './outbox-sender.js';
import type { Timers } from './timers.js';

/** Timers advanced by hand: a timeout fires only when the test moves time past it. */
class ManualTimers implements Timers {
  private t = 0;
  private next = 1;
  private readonly due = new Map<number, { at: number; run: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.next++;
    this.due.set(id, { at: this.t + ms, run });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, d] of [...this.due].sort((a, b) => a[1].at - b[1].at))
      if (d.at <= this.t && this.due.delete(id)) d.run();
  }
  get pendingTimers(): number {
    return this.due.size;
  }
}

function setup(options: { batchSize?: number } = {}) {
  const outbox: TerminalEvent[] = [];
  let acknowledged = 0;
  const sent: Batch[] = [];
  const errors: string[] = [];
  const timers = new ManualTimers();
  const sender = new OutboxSender({
    pendingEvents: (after, limit) =>
      outbox.filter((e) => e.seq > Math.max(after, acknowledged)).slice(0, limit),
    acknowledge: (seq) => {
      acknowledged = seq;
    },
    send: (b) => sent.push(b),
    timers,
    log: { warn: () => undefined, error: (_o: unknown, msg: string) => errors.push(msg) } as never,
    ackTimeoutMs: 1000,
    ...options,
  });
  const commit = (n: number) => {
    for (let i = 0; i < n; i++)
      outbox.push({ seq: outbox.length + 1, kind: 'entry', at: 1 } as TerminalEvent);
  };
  return { sender, sent, timers, commit, errors, acked: () => acknowledged };
}

const ranges = (sent: Batch[]) => sent.map((b) => [b.fromSeq, b.toSeq]);

describe('OutboxSender', () => {
  it('sends nothing until the link is up, then one batch at a time', () => {
    const { sender, sent, commit } = setup({ batchSize: 2 });
    commit(5);
    sender.drain();
    expect(sent).toHaveLength(0);
    sender.linkUp();
    sender.drain();
    expect(ranges(sent)).toEqual([[1, 2]]);
  });

  it('an ack covering the batch forgets it and sends the next; a partial ack waits', () => {
    const { sender, sent, commit, acked } = setup({ batchSize: 2 });
    commit(5);
    sender.linkUp();
    sender.onAck(1);
    expect(ranges(sent)).toEqual([[1, 2]]);
    expect(acked()).toBe(1);
    sender.onAck(2);
    sender.onAck(4);
    expect(ranges(sent)).toEqual([
      [1, 2],
      [3, 4],
      [5, 5],
    ]);
    expect(sender.ackedSeq).toBe(4);
  });

  it('resends from the first unacked seq when no ack comes in time, and only then', () => {
    const { sender, sent, commit, timers } = setup();
    commit(3);
    sender.linkUp();
    timers.advance(999);
    expect(sent).toHaveLength(1);
    timers.advance(1);
    expect(ranges(sent)).toEqual([
      [1, 3],
      [1, 3],
    ]);
    sender.onAck(3);
    expect(sender.pending).toBeUndefined();
    expect(timers.pendingTimers).toBe(0);
  });

  it('a reconnect stops the old timer: one batch in flight, never two', () => {
    const { sender, sent, commit, timers } = setup();
    commit(2);
    sender.linkUp();
    timers.advance(600);
    sender.linkDown();
    sender.linkUp();
    expect(sent).toHaveLength(2);
    timers.advance(600); // the first link's timer would have fired here
    expect(sent).toHaveLength(2);
    expect(timers.pendingTimers).toBe(1);
  });

  it('events committed while down go out after the link comes back', () => {
    const { sender, sent, commit } = setup();
    sender.linkUp();
    sender.linkDown();
    commit(1);
    sender.drain();
    expect(sent).toHaveLength(0);
    sender.linkUp();
    expect(ranges(sent)).toEqual([[1, 1]]);
  });

  it('a backwards ack neither acknowledges nor resends at once (the timeout paces it)', () => {
    const { sender, sent, commit, errors, timers } = setup({ batchSize: 2 });
    commit(4);
    sender.linkUp();
    sender.onAck(2);
    expect(sent).toHaveLength(2);
    sender.onAck(1);
    expect(sent).toHaveLength(2);
    expect(sender.ackedSeq).toBe(2);
    expect(errors).toEqual(['central lost events the terminal already deleted: operator action needed']);
    timers.advance(1000);
    expect(ranges(sent).at(-1)).toEqual([3, 4]);
  });

  it('stop() cancels the timer and sends nothing more', () => {
    const { sender, sent, commit, timers } = setup();
    commit(1);
    sender.linkUp();
    sender.stop();
    timers.advance(5000);
    sender.drain();
    expect(sent).toHaveLength(1);
    expect(timers.pendingTimers).toBe(0);
  });
});
