// The enrollment string as a QR code in the terminal (half-block characters, two modules per line), so a
// technician can carry it on a phone or read it with a handheld scanner. uqr: a small, dependency-free
// encoder (no binaries).
import { renderUnicodeCompact } from 'uqr';

export function terminalQr(text: string): string {
  // Dark-on-light as printed; a quiet zone of 2 modules is enough for phone cameras on a terminal.
  return renderUnicodeCompact(text, { ecc: 'M', border: 2 });
}
