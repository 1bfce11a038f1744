// What the terminal reports about itself: list versions and ages against the staleness policy, clock
// state, outbox depth; and health (ok or the reasons it is not) for /healthz and the status topic.
import type { ClockState } from '../shared/sync.js';
import type { TerminalConfig } from './config.js';
import type { DeviceState } from './io/registry.js';
import { listStaleness, type Staleness } from './policy.js';
import type { SqliteStore } from './store/sqlite.js';

export interface ListReport {
  version: number;
  issuedAt: number;
  ageHours: number;
  staleness: Staleness;
}

export interface TerminalReport {
  terminalId: string;
  role: string;
  gate: string;
  clock: ClockState;
  lists: Record<string, ListReport>;
  staleness: { warnHours: number; failHours: number; failOpen: boolean };
  outboxDepth: number;
  lastSeq: number;
  ackedSeq: number;
  /** Outbox rows found missing or unreadable and sent as record_lost markers. */
  outboxDamaged: number;
  /** After a recovery that lost the seq counter: nothing is sent until central's ack arrives. */
  seqHold: boolean;
  occupancy: number;
  /** Every input and output (and PC/SC reader) with its health. */
  devices: Record<string, DeviceState>;
  healthy: boolean;
  problems: string[];
  warnings: string[];
}

export function buildReport(
  config: TerminalConfig,
  store: SqliteStore,
  clock: { state(): ClockState; nowMs(): number },
  extra: { storageFailing?: boolean; devices?: Record<string, DeviceState> } = {},
): TerminalReport {
  const nowMs = clock.nowMs();
  const lists: Record<string, ListReport> = {};
  for (const [type, v] of Object.entries(store.lists.versions())) {
    if (!v) continue;
    const ageHours = Math.max(0, (nowMs / 1000 - v.issuedAt) / 3600);
    lists[type] = {
      version: v.version,
      issuedAt: v.issuedAt,
      ageHours: +ageHours.toFixed(3),
      staleness: listStaleness(ageHours, config.staleness),
    };
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  const state = clock.state();
  if (!store.isOpen) problems.push('store_closed');
  if (extra.storageFailing)
    problems.push('storage_failure: the last decision could not be recorded (disk full?)');
  if (store.outbox.damagedRows > 0)
    problems.push(
      `outbox_damaged: ${store.outbox.damagedRows} outbox rows were unreadable and sent as record_lost (check the storage)`,
    );
  if (store.outbox.held)
    problems.push(
      "seq_hold: the seq counter was rebuilt by recover; nothing is sent until central's ack arrives",
    );
  if (!lists.trust)
    problems.push('no_trust_list: load lists (passgate terminal load-lists) or connect to central');
  if (!lists.revocation) (config.staleness.failOpen ? warnings : problems).push('no_revocation_list');
  if (state === 'untrusted') (config.clock.failOpen ? warnings : problems).push('clock_untrusted');
  else if (state === 'degraded') warnings.push('clock_degraded: no recent time beacon');
  for (const [type, l] of Object.entries(lists)) {
    if (l.staleness === 'fail')
      (config.staleness.failOpen ? warnings : problems).push(
        `lists_stale: ${type} is ${l.ageHours.toFixed(1)} h old (fail at ${config.staleness.failHours} h)`,
      );
    else if (l.staleness === 'warn')
      warnings.push(
        `lists_warn: ${type} is ${l.ageHours.toFixed(1)} h old (warn at ${config.staleness.warnHours} h)`,
      );
  }
  const devices = extra.devices ?? {};
  deviceProblems(devices, problems, warnings);
  return {
    terminalId: config.terminalId,
    role: config.role,
    gate: config.gate,
    clock: state,
    lists,
    staleness: config.staleness,
    outboxDepth: store.outbox.depth,
    lastSeq: store.outbox.lastSeq,
    ackedSeq: store.outbox.ackedSeq,
    outboxDamaged: store.outbox.damagedRows,
    seqHold: store.outbox.held,
    occupancy: store.verifier.occupancy,
    devices,
    healthy: problems.length === 0,
    problems,
    warnings,
  };
}

/**
 * A missing or faulty device is a warning while another input still works; no working input at all, or
 * a gate output in fault, makes the terminal unhealthy (503): it cannot let anyone through.
 */
function deviceProblems(devices: Record<string, DeviceState>, problems: string[], warnings: string[]): void {
  const top = Object.entries(devices).filter(([name]) => !name.includes('/'));
  for (const [name, d] of top) {
    if (d.state === 'ok') continue;
    const line = `device_${d.state}: ${d.kind} ${name} (${d.type}): ${d.reason ?? 'no reason given'}`;
    if (d.kind === 'output' && d.state === 'fault') problems.push(line);
    else warnings.push(line);
  }
  const inputs = top.filter(([, d]) => d.kind === 'input');
  if (inputs.length > 0 && inputs.every(([, d]) => d.state !== 'ok'))
    problems.push('no_working_input: every configured input is absent or faulty');
}
