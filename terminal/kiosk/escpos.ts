// A receipt as ESC/POS bytes for a thermal receipt printer. Chinese text goes out in Big5 inside the
// printer's double-byte (Kanji) mode (FS & … FS .), as Traditional Chinese ESC/POS printers expect; with
// `ascii` the labels are English only (for printers without a Big5 font). Pure: no I/O here.
import type { Receipt } from './kiosk.js';

export const ESC = 0x1b;
export const FS = 0x1c;
export const GS = 0x1d;
export const INIT = [ESC, 0x40];
export const ALIGN_CENTER = [ESC, 0x61, 1];
export const ALIGN_LEFT = [ESC, 0x61, 0];
export const DOUBLE_BYTE_ON = [FS, 0x26];
export const DOUBLE_BYTE_OFF = [FS, 0x2e];
/** Feed 3 lines and cut partially (GS V 66 n). */
export const FEED_AND_CUT = [GS, 0x56, 66, 3];

let big5: Map<string, [number, number]> | undefined;

/** Big5 encoding table, built once from the platform's Big5 decoder (WHATWG big5, as Node ships it). */
function big5Table(): Map<string, [number, number]> {
  if (big5) return big5;
  const table = new Map<string, [number, number]>();
  const decoder = new TextDecoder('big5');
  for (let lead = 0xa1; lead <= 0xf9; lead++)
    for (const [lo, hi] of [
      [0x40, 0x7e],
      [0xa1, 0xfe],
    ] as const)
      for (let trail = lo; trail <= hi; trail++) {
        const ch = decoder.decode(new Uint8Array([lead, trail]));
        if (ch.length === 1 && ch !== '\ufffd' && !table.has(ch)) table.set(ch, [lead, trail]);
      }
  big5 = table;
  return table;
}

/**
 * Text as printer bytes: ASCII as is; other characters in Big5 inside double-byte mode; a character
 * Big5 does not have becomes `?`.
 */
export function encodeText(text: string): number[] {
  const out: number[] = [];
  let wide = false;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) {
      if (wide) out.push(...DOUBLE_BYTE_OFF);
      wide = false;
      out.push(code);
      continue;
    }
    const bytes = big5Table().get(ch);
    if (!bytes) {
      if (wide) out.push(...DOUBLE_BYTE_OFF);
      wide = false;
      out.push(0x3f);
      continue;
    }
    if (!wide) out.push(...DOUBLE_BYTE_ON);
    wide = true;
    out.push(...bytes);
  }
  if (wide) out.push(...DOUBLE_BYTE_OFF);
  return out;
}

const LABELS = {
  big5: {
    title: '圖書館借閱收據',
    member: '讀者',
    loan: '借出',
    renewal: '續借',
    return: '歸還',
    due: '到期',
    id: '收據編號',
  },
  ascii: {
    title: 'Library receipt',
    member: 'Member',
    loan: 'Loan',
    renewal: 'Renewed',
    return: 'Returned',
    due: 'due',
    id: 'Receipt',
  },
};

/** Date as YYYY-MM-DD in the library's zone. */
function day(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(ms));
}

export function receiptBytes(r: Receipt, opts: { chinese: 'big5' | 'ascii'; timeZone?: string }): Uint8Array {
  const tz = opts.timeZone ?? 'Asia/Taipei';
  const l = LABELS[opts.chinese];
  const text =
    opts.chinese === 'big5'
      ? encodeText
      : (s: string) => [...s].map((c) => (c.charCodeAt(0) < 0x80 ? c.charCodeAt(0) : 0x3f));
  const line = (s: string) => [...text(s), 0x0a];
  const out: number[] = [...INIT, ...ALIGN_CENTER, ...line(l.title), ...ALIGN_LEFT];
  if (r.member) out.push(...line(`${l.member}: ${r.member}`));
  out.push(...line(`${day(r.at, tz)} ${r.gate}`));
  for (const x of r.lines) {
    const what = x.action === 'loan' ? l.loan : x.action === 'renewal' ? l.renewal : l.return;
    out.push(...line(`${what} ${x.item}${x.due !== undefined ? ` ${l.due} ${day(x.due, tz)}` : ''}`));
  }
  out.push(...line(`${l.id}: ${r.id}`), ...FEED_AND_CUT);
  return new Uint8Array(out);
}
