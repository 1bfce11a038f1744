// The seam for what a decision drives: a relay, LEDs, a kiosk screen. Called only after the event is committed.
import type { Reason } from '../../shared/reasons.js';

export interface GateSignal {
  decision: 'accept' | 'deny';
  reason: Reason;
  seq: number | null;
  gate: string;
  direction: 'in' | 'out';
  /** Plain words for the screen. */
  text: string;
}

export interface GateOutput {
  readonly name: string;
  start(): Promise<void>;
  show(signal: GateSignal): Promise<void>;
  stop(): Promise<void>;
}
