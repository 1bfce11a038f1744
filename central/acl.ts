// Who may publish and subscribe where. The same rules are written out for mosquitto by
// mosquitto-config.ts; keep the two in step.
import { LIST_TYPES } from '../shared/lists.js';
import { TOPIC_ROOT, topics } from '../shared/sync.js';

export type Principal = { kind: 'central' } | { kind: 'terminal'; id: string };

/** A terminal publishes only its own events and status. */
export function mayPublish(p: Principal, topic: string): boolean {
  if (p.kind === 'central') return topic.startsWith(`${TOPIC_ROOT}/`);
  return topic === topics.events(p.id) || topic === topics.status(p.id);
}

/** Every filter a terminal may hold: exact strings, no wildcard of its own (issue 8 item 3). */
const SHARED_FILTERS = new Set<string>([
  topics.lists,
  topics.time,
  topics.replay,
  ...LIST_TYPES.flatMap((t) => [topics.listSnapshot(t), topics.listDelta(t)]),
]);

/**
 * A terminal reads only its own ack and cmd, the lists, the time beacons and the replay relay, by these
 * exact filters: a distinct filter costs the broker memory for as long as the session lives, so "any
 * filter under lists/" let one client hold 200,000 of them.
 */
export function maySubscribe(p: Principal, filter: string): boolean {
  if (p.kind === 'central')
    return filter.startsWith(`${TOPIC_ROOT}/`) || filter.startsWith(`$share/central/${TOPIC_ROOT}/`);
  return filter === topics.ack(p.id) || filter === topics.cmd(p.id) || SHARED_FILTERS.has(filter);
}

/** Upper bound on the filters a terminal can hold (own ack and cmd + the shared ones). */
export const MAX_TERMINAL_SUBSCRIPTIONS = SHARED_FILTERS.size + 2;
