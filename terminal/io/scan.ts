// What an input hands the pipeline: a typed scan, never text to re-parse. Each input knows its own name
// and the direction it serves (a turnstile may have an entry scanner and an exit scanner).
import type { Direction } from '../../shared/ids.js';

export type ScanBody =
  /** A QR code or other wallet payload (`PG1:…`) read by a scanner or typed on stdin/TCP. */
  | { kind: 'qr'; text: string }
  /** A contactless card's UID (4, 7 or 10 bytes) read by a PC/SC reader; ATR when the reader gave one. */
  | { kind: 'card'; uid: Uint8Array; atr?: Uint8Array }
  /** An item barcode (library kiosk): the scanner's text, prefix/suffix already stripped. */
  | { kind: 'barcode'; text: string };

export type Scan = ScanBody & {
  /** The configured input's name (e.g. `entry-scanner`, `reader-1`). */
  input: string;
  /** The direction this input serves; the pipeline falls back to the terminal's default. */
  direction?: Direction;
  /** When the input read it (ms since the epoch, the terminal's clock). */
  at: number;
};
