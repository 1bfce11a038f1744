// The seam between the daemon and every input or output device. A device is built from its config entry
// by a factory (terminal/io/registry.ts), does no I/O in its constructor, is started and stopped in order,
// and always answers health(): `ok`, `absent` (not plugged in / service not running: it may come back by
// itself) or `fault` (present but failing, or the driver is missing) with a short reason.
import type { Logger } from 'pino';
import type { Scan } from './scan.js';
import type { GateSignal } from '../outputs/output.js';

export type HealthState = 'ok' | 'absent' | 'fault';

export interface DeviceHealth {
  state: HealthState;
  /** Stable, lowercase code first (e.g. `pcscd_not_running: …`); never a UID, code or secret. */
  reason?: string;
}

/** What an input answers for one scan (TCP sends it back as one JSON line). */
export type ScanResponse =
  | {
      decision: 'accept' | 'deny';
      reason: string;
      seq: number | null;
      /** A kiosk's answer: the session state, the item decisions of this scan (terminal/kiosk/). */
      kiosk?: Record<string, unknown>;
    }
  | {
      ignored:
        | 'line_too_long'
        | 'control_characters'
        | 'non_ascii'
        | 'repeat'
        | 'empty'
        | 'shutting_down'
        | 'garbage'
        | 'unsupported_scan';
    };

export type IgnoredWhy = Extract<ScanResponse, { ignored: string }>['ignored'];

export interface InputSink {
  /** Decide one typed scan; resolves after the event is committed and the outputs were driven. */
  scan(scan: Scan): Promise<ScanResponse>;
  /** Told about every read the input dropped (hygiene, garbage); never sees the bytes themselves. */
  ignored(why: IgnoredWhy, input: string): void;
}

export interface InputDevice {
  readonly name: string;
  readonly type: string;
  start(sink: InputSink): Promise<void>;
  stop(): Promise<void>;
  health(): DeviceHealth;
  /** Set by the daemon: call it when health changes, so a short outage is recorded, not missed between polls. */
  onHealthChange?: () => void;
  /** Sub-devices worth listing separately (PC/SC readers by name); optional. */
  details?(): Record<string, DeviceHealth>;
}

export interface OutputDevice {
  readonly name: string;
  readonly type: string;
  start(): Promise<void>;
  /** Called only after the decision's event is committed. Must not throw for a device that is gone. */
  show(signal: GateSignal): Promise<void>;
  stop(): Promise<void>;
  health(): DeviceHealth;
  /** Set by the daemon: call it when health changes. */
  onHealthChange?: () => void;
}

/** What a factory gets besides its own config entry. */
export interface DeviceContext {
  logger: Logger;
}

export const OK: DeviceHealth = { state: 'ok' };

/** `code: detail` → `code` (events and metrics carry the stable code only). */
export function reasonCode(reason: string | undefined): string {
  return (reason ?? '').split(':')[0]!.trim() || 'unknown';
}
