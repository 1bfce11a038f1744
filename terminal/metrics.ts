// Counters and a latency histogram in Prometheus text format (no client library needed for a handful).
import type { Reason } from '../shared/reasons.js';
import type { DeviceState } from './io/registry.js';

export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 3, 5, 10, 25, 50, 100, 250, 1000];

export interface GaugeSource {
  outboxDepth: number;
  lastSeq: number;
  ackedSeq: number;
  occupancy: number;
  clockState: 'trusted' | 'degraded' | 'untrusted';
  lists: Record<string, { version: number; ageSeconds: number }>;
  storageFailures: number;
  alerts: Record<string, number>;
  devices?: Record<string, DeviceState>;
}

/** Prometheus label values: escape backslash, quote and newline (reader names come from drivers). */
function label(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export class TerminalMetrics {
  private decisions = new Map<string, number>();
  private buckets = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  private latencyCount = 0;
  private latencySum = 0;
  private ignored = new Map<string, number>();
  private transitions = new Map<string, number>();

  observeDeviceTransition(device: string, state: string): void {
    const key = `${device}\u0000${state}`;
    this.transitions.set(key, (this.transitions.get(key) ?? 0) + 1);
  }

  observeDecision(decision: 'accept' | 'deny', reason: Reason, latencyMs: number): void {
    const key = `${decision}\u0000${reason}`;
    this.decisions.set(key, (this.decisions.get(key) ?? 0) + 1);
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++)
      if (latencyMs <= LATENCY_BUCKETS_MS[i]!) this.buckets[i]!++;
    this.latencyCount++;
    this.latencySum += latencyMs / 1000;
  }

  observeIgnored(why: string): void {
    this.ignored.set(why, (this.ignored.get(why) ?? 0) + 1);
  }

  render(g: GaugeSource): string {
    const out: string[] = [];
    out.push(
      '# HELP passgate_decisions_total Decisions by outcome and reason code.',
      '# TYPE passgate_decisions_total counter',
    );
    for (const [key, n] of this.decisions) {
      const [decision, reason] = key.split('\u0000');
      out.push(`passgate_decisions_total{decision="${decision}",reason="${reason}"} ${n}`);
    }
    out.push(
      '# HELP passgate_decision_duration_seconds From input line to durable commit and output.',
      '# TYPE passgate_decision_duration_seconds histogram',
    );
    LATENCY_BUCKETS_MS.forEach((b, i) =>
      out.push(`passgate_decision_duration_seconds_bucket{le="${b / 1000}"} ${this.buckets[i]}`),
    );
    out.push(`passgate_decision_duration_seconds_bucket{le="+Inf"} ${this.latencyCount}`);
    out.push(`passgate_decision_duration_seconds_sum ${this.latencySum}`);
    out.push(`passgate_decision_duration_seconds_count ${this.latencyCount}`);
    out.push(
      '# HELP passgate_input_ignored_total Input lines dropped by hygiene.',
      '# TYPE passgate_input_ignored_total counter',
    );
    for (const [why, n] of this.ignored) out.push(`passgate_input_ignored_total{why="${why}"} ${n}`);
    out.push(
      '# HELP passgate_outbox_depth Events committed but not yet acknowledged by central.',
      '# TYPE passgate_outbox_depth gauge',
    );
    out.push(`passgate_outbox_depth ${g.outboxDepth}`);
    out.push('# TYPE passgate_outbox_last_seq gauge', `passgate_outbox_last_seq ${g.lastSeq}`);
    out.push('# TYPE passgate_outbox_acked_seq gauge', `passgate_outbox_acked_seq ${g.ackedSeq}`);
    out.push('# TYPE passgate_occupancy gauge', `passgate_occupancy ${g.occupancy}`);
    out.push(
      '# HELP passgate_clock_state 1 for the current clock state.',
      '# TYPE passgate_clock_state gauge',
    );
    for (const s of ['trusted', 'degraded', 'untrusted'])
      out.push(`passgate_clock_state{state="${s}"} ${g.clockState === s ? 1 : 0}`);
    out.push(
      '# HELP passgate_list_version Version of each signed list held.',
      '# TYPE passgate_list_version gauge',
    );
    for (const [type, l] of Object.entries(g.lists))
      out.push(`passgate_list_version{list="${type}"} ${l.version}`);
    out.push(
      '# HELP passgate_list_age_seconds Age of each list (now − issued_at).',
      '# TYPE passgate_list_age_seconds gauge',
    );
    for (const [type, l] of Object.entries(g.lists))
      out.push(`passgate_list_age_seconds{list="${type}"} ${l.ageSeconds}`);
    out.push(
      '# TYPE passgate_storage_failures_total counter',
      `passgate_storage_failures_total ${g.storageFailures}`,
    );
    out.push(
      '# HELP passgate_fail_open_total Accepts despite a degraded condition.',
      '# TYPE passgate_fail_open_total counter',
    );
    for (const [a, n] of Object.entries(g.alerts)) out.push(`passgate_fail_open_total{alert="${a}"} ${n}`);
    out.push(
      '# HELP passgate_device_health 1 for the current health of each input, output and PC/SC reader.',
      '# TYPE passgate_device_health gauge',
    );
    for (const [name, d] of Object.entries(g.devices ?? {}))
      for (const s of ['ok', 'absent', 'fault'])
        out.push(
          `passgate_device_health{device="${label(name)}",kind="${d.kind}",type="${d.type}",state="${s}"} ${d.state === s ? 1 : 0}`,
        );
    out.push(
      '# HELP passgate_device_transitions_total Health changes per device and new state.',
      '# TYPE passgate_device_transitions_total counter',
    );
    for (const [key, n] of this.transitions) {
      const [device, state] = key.split('\u0000');
      out.push(`passgate_device_transitions_total{device="${label(device!)}",state="${state}"} ${n}`);
    }
    const mem = process.memoryUsage();
    out.push('# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`);
    return out.join('\n') + '\n';
  }
}
