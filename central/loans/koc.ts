// Koha offline circulation export (.koc): what Koha's "Upload offline circulation file" takes. The format
// (Koha's offline_circ/enqueue_koc.pl reads it): a header `Version=1.0<TAB>Generator=…<TAB>GeneratorVersion=…`,
// then one line per action: `YYYY-MM-DD HH:MM:SS mmm<TAB>issue<TAB>cardnumber<TAB>barcode` or
// `…<TAB>return<TAB>barcode`. Koha treats an issue of an item the same patron already holds as a renewal,
// so a renewal goes out as an issue at its time. Timestamps are in the library's time zone (Koha's).
import { InvalidInput } from '../../shared/errors.js';
import type { LoanRow } from './plan.js';

export const KOC_GENERATOR = 'passgate';
export const KOC_GENERATOR_VERSION = '1.0';

export interface KocOptions {
  /** IANA time zone of the Koha server, e.g. Asia/Taipei (default UTC). */
  timeZone?: string;
  /** The patron's Koha card number for a pseudonym; default: the pseudonym itself. */
  cardFor?: (sub: string) => string | undefined;
}

interface Action {
  at: number;
  line: string;
}

const SAFE = /^[^\t\r\n]+$/;

export function kocTimestamp(ms: number, timeZone = 'UTC'): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const msPart = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${msPart}`;
}

/**
 * The .koc text for the loans, renewals and returns that happened in [fromMs, toMs), in time order.
 * A loan whose card number is unknown (cardFor gave nothing) is left out and counted in `skipped`.
 */
export function exportKoc(
  rows: readonly LoanRow[],
  fromMs: number,
  toMs: number,
  opts: KocOptions = {},
): { text: string; lines: number; skipped: number } {
  const tz = opts.timeZone ?? 'UTC';
  const inDay = (t: number | undefined): t is number => t !== undefined && t >= fromMs && t < toMs;
  const actions: Action[] = [];
  let skipped = 0;
  for (const l of rows) {
    const card = opts.cardFor ? opts.cardFor(l.sub) : l.sub;
    const issue = (at: number) => {
      if (!card || !SAFE.test(card) || !SAFE.test(l.item)) return void skipped++;
      actions.push({ at, line: `${kocTimestamp(at, tz)}\tissue\t${card}\t${l.item}` });
    };
    if (inDay(l.loanedAt)) issue(l.loanedAt);
    if (inDay(l.renewedAt)) issue(l.renewedAt);
    if (inDay(l.returnedAt))
      actions.push({ at: l.returnedAt, line: `${kocTimestamp(l.returnedAt, tz)}\treturn\t${l.item}` });
  }
  actions.sort((a, b) => a.at - b.at);
  const header = `Version=1.0\tGenerator=${KOC_GENERATOR}\tGeneratorVersion=${KOC_GENERATOR_VERSION}`;
  return { text: [header, ...actions.map((a) => a.line)].join('\n') + '\n', lines: actions.length, skipped };
}

/** Start and end (unix ms) of a calendar day `YYYY-MM-DD` in a time zone. */
export function dayRange(day: string, timeZone = 'UTC'): [number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new InvalidInput('day', 'expected YYYY-MM-DD');
  const utcMidnight = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // The zone's offset at that midnight (DST-free zones are exact; others are right except on a switch day).
  let shown: string;
  try {
    shown = kocTimestamp(utcMidnight, timeZone);
  } catch (err) {
    if (err instanceof RangeError) throw new InvalidInput('tz', `not a time zone: ${timeZone}`);
    throw err;
  }
  const [d, t] = shown.split(' ');
  const asUtc = Date.parse(`${d}T${t}Z`);
  const start = utcMidnight - (asUtc - utcMidnight);
  return [start, start + 86_400_000];
}
