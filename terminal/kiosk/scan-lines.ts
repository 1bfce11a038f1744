// Until every input produces a typed Scan (terminal/io/scan.ts), the stdin/TCP lines a kiosk gets are
// turned into one here: `item:BARCODE` (or `barcode:`) is an item barcode, `card:UID` a card, anything
// else a QR text. `kiosk:checkout|return|done|cancel` are the screen's buttons, for scripts and tests.
import type { Scan } from '../io/scan.js';
import { parseUid } from '../../shared/cards.js';

export const KIOSK_CONTROLS = ['checkout', 'return', 'done', 'cancel'] as const;
export type KioskControl = (typeof KIOSK_CONTROLS)[number];

export type KioskInput = { scan: Scan } | { control: KioskControl } | { malformed: string };

const BARCODE_LINE = /^(?:item|barcode):(.*)$/i;
const CARD_LINE = /^card:(.*)$/i;
const CONTROL_LINE = /^kiosk:(.*)$/i;

export function lineToKioskInput(line: string, input: string, at: number): KioskInput {
  const control = CONTROL_LINE.exec(line);
  if (control) {
    const c = control[1]!.toLowerCase();
    return (KIOSK_CONTROLS as readonly string[]).includes(c)
      ? { control: c as KioskControl }
      : { malformed: 'unknown kiosk control' };
  }
  const barcode = BARCODE_LINE.exec(line);
  if (barcode) return { scan: { kind: 'barcode', text: barcode[1]!, input, at } };
  const card = CARD_LINE.exec(line);
  if (card) {
    const uid = parseUid(card[1]!);
    return uid ? { scan: { kind: 'card', uid, input, at } } : { malformed: 'card UID is not 4-10 hex bytes' };
  }
  return { scan: { kind: 'qr', text: line, input, at } };
}
