// Who may publish and subscribe where. The same rules are written out for mosquitto by
// mosquitto-config.ts; keep the two in step.
import { TOPIC_ROOT, topics } from '../shared/sync.js';

export type Principal = { kind: 'central' } | { kind: 'terminal'; id: string };

/** A terminal publishes only its own events and status. */
export function mayPublish(p: Principal, topic: string): boolean {
  if (p.kind === 'central') return topic.startsWith(`${TOPIC_ROOT}/`);
  return topic === topics.events(p.id) || topic === topics.status(p.id);
}

/** A terminal reads only its own ack and cmd, the lists and the time beacons. */
export function maySubscribe(p: Principal, filter: string): boolean {
  if (p.kind === 'central')
    return filter.startsWith(`${TOPIC_ROOT}/`) || filter.startsWith(`$share/central/${TOPIC_ROOT}/`);
  if (filter === topics.ack(p.id) || filter === topics.cmd(p.id) || filter === topics.time) return true;
  // Any filter inside lists/ can only match list topics.
  return filter === topics.lists || (filter.startsWith(`${TOPIC_ROOT}/lists/`) && !filter.includes('$'));
}
