// Text that came from a terminal (status fields, ids, reader states) is printed only after this: a
// compromised terminal must not drive the operator's terminal with escape sequences (title change,
// screen clear, fake lines) or reorder text with bidi controls (issue 8 item 7).
// C0 and C1 controls, DEL, zero-width and bidi formatting characters.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function printable(value: unknown, max = 64): string {
  const s = String(value).replace(CONTROL, '?');
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
