// The HID report decoders from recorded report sequences (this machine has no /dev/uhid): a keyboard-
// wedge scanner typing a PG1 code with shift, key-up reports and Enter; Tab as terminator; a custom
// layout; unknown keys; a stuck key; interleaved reports; a 9-byte hidraw report with a report id; and
// HID POS scanned-data reports split over several reports.
import { describe, expect, it } from 'vitest';
import { KeyboardReportDecoder, PosReportDecoder } from './hid-decoder.js';

const SHIFT = 0x02;
const key = (usage: number, mods = 0) => Uint8Array.of(mods, 0, usage, 0, 0, 0, 0, 0);
const up = () => new Uint8Array(8);

/** What a keyboard-wedge scanner sends for text: per character a key-down report, then a key-up report. */
function record(text: string, terminator = 0x28): Uint8Array[] {
  const reports: Uint8Array[] = [];
  for (const ch of text) {
    let usage: number;
    let mods = 0;
    if (ch >= 'a' && ch <= 'z') usage = 0x04 + ch.charCodeAt(0) - 97;
    else if (ch >= 'A' && ch <= 'Z') {
      usage = 0x04 + ch.charCodeAt(0) - 65;
      mods = SHIFT;
    } else if (ch >= '1' && ch <= '9') usage = 0x1e + ch.charCodeAt(0) - 49;
    else if (ch === '0') usage = 0x27;
    else if (ch === ':') {
      usage = 0x33;
      mods = SHIFT;
    } else if (ch === '-') usage = 0x2d;
    else if (ch === '$') {
      usage = 0x21;
      mods = 0x20; // right shift
    } else throw new Error(`no usage for ${ch}`);
    reports.push(key(usage, mods), up());
  }
  reports.push(key(terminator), up());
  return reports;
}

const decode = (d: KeyboardReportDecoder, reports: Uint8Array[]) => reports.map((r) => d.push(r)).join('');

describe('KeyboardReportDecoder (boot keyboard reports)', () => {
  it('types a code with shift, key-up reports and Enter as the line end', () => {
    expect(decode(new KeyboardReportDecoder(), record('PG1:NCF-9$abc'))).toBe('PG1:NCF-9$abc\n');
  });

  it('takes Tab as the terminator when configured, and then Enter is an unknown key (NUL)', () => {
    const d = new KeyboardReportDecoder({ terminator: 'tab' });
    expect(decode(d, record('AB12', 0x2b))).toBe('AB12\n');
    expect(decode(d, record('AB', 0x28))).toBe('AB\u0000');
  });

  it('repeats a letter only after it was released', () => {
    const d = new KeyboardReportDecoder();
    // "aa": down, up, down, up — and a stuck "b" held over three reports types once.
    const reports = [
      key(0x04),
      up(),
      key(0x04),
      up(),
      key(0x05),
      key(0x05),
      key(0x05),
      up(),
      key(0x28),
      up(),
    ];
    expect(decode(d, reports)).toBe('aab\n');
  });

  it('reads rollover reports where the next key goes down before the previous one is up', () => {
    const d = new KeyboardReportDecoder();
    const both = Uint8Array.of(0, 0, 0x04, 0x05, 0, 0, 0, 0);
    const onlyB = Uint8Array.of(0, 0, 0x05, 0, 0, 0, 0, 0);
    const bAndC = Uint8Array.of(0, 0, 0x05, 0x06, 0, 0, 0, 0);
    expect(decode(d, [key(0x04), both, onlyB, bAndC, up(), key(0x28), up()])).toBe('abc\n');
  });

  it('marks unknown keys (F1, arrows) with NUL so line hygiene refuses the line, and ignores error rollover', () => {
    const d = new KeyboardReportDecoder();
    const rollover = Uint8Array.of(0, 0, 1, 1, 1, 1, 1, 1);
    expect(decode(d, [key(0x3a), up(), key(0x4f), up(), rollover, key(0x04), up()])).toBe('\u0000\u0000a');
  });

  it('drops the report id of a 9-byte hidraw report and applies a layout override', () => {
    const d = new KeyboardReportDecoder({
      terminator: 'enter',
      layout: { '100': ['<', '>'], '4': ['q', 'Q'] },
    });
    const withId = (r: Uint8Array) => Uint8Array.of(1, ...r);
    expect(
      decode(d, [withId(key(100)), withId(up()), withId(key(4, SHIFT)), withId(up()), withId(key(0x28))]),
    ).toBe('<Q\n');
  });

  it('ignores reports too short to carry keys', () => {
    expect(new KeyboardReportDecoder().push(Uint8Array.of(0, 0))).toBe('');
  });
});

/** A Scanned Data Report as POS scanners send it: id 2, length, 3 symbology bytes, 56 data bytes, flags. */
function posReport(data: string, more: boolean): Uint8Array {
  const r = new Uint8Array(64);
  r[0] = 0x02;
  r[1] = data.length;
  r.set([0x5d, 0x51, 0x31], 2); // ]Q1: QR code
  r.set(Buffer.from(data, 'latin1'), 5);
  r[63] = more ? 1 : 0;
  return r;
}

describe('PosReportDecoder (HID POS, usage page 0x8C)', () => {
  it('assembles a code from continued reports into one line', () => {
    const d = new PosReportDecoder();
    const code = 'PG1:' + 'X'.repeat(100);
    expect(d.push(posReport(code.slice(0, 56), true))).toBe('');
    expect(d.push(posReport(code.slice(56), false))).toBe(code + '\n');
  });

  it('ignores other report ids and short reports, and strips a trailing CR the scanner added', () => {
    const d = new PosReportDecoder();
    expect(d.push(Uint8Array.of(0x01, 3, 0, 0, 0, 65, 66, 67, 0))).toBe('');
    expect(d.push(Uint8Array.of(0x02, 1))).toBe('');
    expect(d.push(posReport('ITEM-42\r', false))).toBe('ITEM-42\n');
  });

  it('refuses (NUL) a code assembled beyond the size limit instead of growing without bound', () => {
    const d = new PosReportDecoder();
    for (let i = 0; i < 200; i++) d.push(posReport('Y'.repeat(56), true));
    expect(d.push(posReport('end', false))).toContain('\u0000');
  });
});
