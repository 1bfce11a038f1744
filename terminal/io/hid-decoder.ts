// Pure decoders from HID input reports to text, so the node-hid shell (hid-scanner.ts) stays thin and
// the logic is tested from recorded reports.
//
// Keyboard-wedge scanners send boot keyboard reports: 8 bytes [modifiers, reserved, key1..key6] (hidraw
// may prefix a report id, dropped when the report is 9 bytes). A key counts when it appears (a new press),
// not while it stays down, so a stuck key types once; shift is modifier bit 1 or 5; Enter or Tab ends a
// line (the configured terminator), the other one is an unknown key. A key this layout does not know
// becomes NUL, which line hygiene refuses (the line is counted as `control_characters`, never guessed).
//
// HID POS barcode scanners (usage page 0x8C) send Scanned Data Reports. Layout decoded here (the one
// common USB POS scanners use, report id 2): [0x02, length, sym1, sym2, sym3, data…, flags] where
// `length` counts the data bytes in this report and flags bit 0 says "more data follows".

/** US layout: HID usage → [unshifted, shifted]. */
export const US_LAYOUT: Record<number, [string, string]> = (() => {
  const m: Record<number, [string, string]> = {};
  for (let i = 0; i < 26; i++) {
    const c = String.fromCharCode(97 + i);
    m[0x04 + i] = [c, c.toUpperCase()];
  }
  const digits = '1234567890';
  const shifted = '!@#$%^&*()';
  for (let i = 0; i < 10; i++) m[0x1e + i] = [digits[i]!, shifted[i]!];
  const rest: Array<[number, string, string]> = [
    [0x2c, ' ', ' '],
    [0x2d, '-', '_'],
    [0x2e, '=', '+'],
    [0x2f, '[', '{'],
    [0x30, ']', '}'],
    [0x31, '\\', '|'],
    [0x33, ';', ':'],
    [0x34, "'", '"'],
    [0x35, '`', '~'],
    [0x36, ',', '<'],
    [0x37, '.', '>'],
    [0x38, '/', '?'],
    [0x54, '/', '/'],
    [0x55, '*', '*'],
    [0x56, '-', '-'],
    [0x57, '+', '+'],
    [0x63, '.', '.'],
  ];
  for (const [u, a, b] of rest) m[u] = [a, b];
  for (let i = 0; i < 9; i++) m[0x59 + i] = [String(i + 1), String(i + 1)];
  m[0x62] = ['0', '0'];
  return m;
})();

const ENTER = new Set([0x28, 0x58]);
const TAB = 0x2b;
const SHIFT = 0x02 | 0x20;
const ERROR_ROLLOVER = 0x01;

export class KeyboardReportDecoder {
  private down = new Set<number>();
  private readonly layout: Record<number, [string, string]>;
  private readonly terminator: 'enter' | 'tab';

  constructor(
    opts: { terminator: 'enter' | 'tab'; layout?: Record<string, [string, string]> } = {
      terminator: 'enter',
    },
  ) {
    this.terminator = opts.terminator;
    this.layout = { ...US_LAYOUT };
    for (const [usage, chars] of Object.entries(opts.layout ?? {})) this.layout[Number(usage)] = chars;
  }

  /** One report → the characters it typed; a terminator key yields `\n`. */
  push(report: Uint8Array): string {
    const r = report.length === 9 ? report.subarray(1) : report;
    if (r.length < 3) return '';
    const keys = [...r.subarray(2)].filter((k) => k !== 0);
    if (keys.includes(ERROR_ROLLOVER)) return ''; // too many keys at once: the report carries no keys
    const shift = (r[0]! & SHIFT) !== 0;
    let out = '';
    for (const k of keys) {
      if (this.down.has(k)) continue;
      if (ENTER.has(k)) out += this.terminator === 'enter' ? '\n' : '\u0000';
      else if (k === TAB) out += this.terminator === 'tab' ? '\n' : '\u0000';
      else out += this.layout[k]?.[shift ? 1 : 0] ?? '\u0000';
    }
    this.down = new Set(keys);
    return out;
  }
}

export class PosReportDecoder {
  private parts: number[] = [];
  static readonly REPORT_ID = 0x02;
  /** Longest decoded text assembled from continued reports (then the rest is dropped as garbage). */
  static readonly MAX = 8192;

  /** One Scanned Data Report → a line (with `\n`) when complete, '' while more data follows. */
  push(report: Uint8Array): string {
    if (report.length < 6 || report[0] !== PosReportDecoder.REPORT_ID) return '';
    const length = report[1]!;
    const data = report.subarray(5, 5 + Math.min(length, report.length - 6));
    const more = (report[report.length - 1]! & 0x01) !== 0;
    if (this.parts.length + data.length <= PosReportDecoder.MAX) this.parts.push(...data);
    else this.parts = [0]; // over-long: NUL makes hygiene refuse the line
    if (more) return '';
    const text = String.fromCharCode(...this.parts);
    this.parts = [];
    return text.replace(/[\r\n]+$/, '') + '\n';
  }
}
