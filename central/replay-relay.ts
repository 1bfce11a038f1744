// Relays the replay keys of presentations terminals consumed to every terminal (issue 8 item 6), so a
// live code accepted at one gate is `replayed` at every other gate of the fleet while online. Keys are
// batched for at most flushMs (default 100 ms), signed with the list key, at most MAX_RELAYED_KEYS per
// message, and only while still live; the topic is not retained (a terminal offline for longer than a
// presentation window would hold only expired keys).
import type { Logger } from 'pino';
import type { KeyPair } from '../shared/keys.js';
import { MAX_RELAYED_KEYS, signReplayKeys, type RelayedKey } from '../shared/replay-relay.js';
import { topics } from '../shared/sync.js';

/** Keys waiting beyond this are dropped (with a log line): the relay never grows without bound. */
const MAX_WAITING = 20 * MAX_RELAYED_KEYS;

export class ReplayRelay {
  private waiting: RelayedKey[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  relayed = 0;
  dropped = 0;

  constructor(
    private readonly listKey: KeyPair,
    private readonly publish: (topic: string, payload: Uint8Array) => Promise<void>,
    logger: Logger,
    private readonly flushMs = 100,
  ) {
    this.log = logger.child({ component: 'replay-relay' });
  }

  add(keys: readonly RelayedKey[]): void {
    const nowS = Math.floor(Date.now() / 1000);
    for (const k of keys) {
      if (k.expiresAt < nowS) continue;
      if (this.waiting.length >= MAX_WAITING) {
        this.dropped++;
        continue;
      }
      this.waiting.push(k);
    }
    if (this.waiting.length > 0 && !this.timer) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }

  private flush(): void {
    this.timer = undefined;
    const t = Date.now();
    while (this.waiting.length > 0) {
      const chunk = this.waiting.splice(0, MAX_RELAYED_KEYS);
      this.relayed += chunk.length;
      this.publish(topics.replay, signReplayKeys(this.listKey, chunk, t)).catch((err: Error) =>
        this.log.warn({ err: err.message, keys: chunk.length }, 'could not relay replay keys'),
      );
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }
}
