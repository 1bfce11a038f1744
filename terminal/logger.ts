// pino for the terminal: JSON lines on stderr (stdout belongs to the console output), secrets, raw
// input lines and UIDs redacted wherever a caller might pass them by mistake.
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'line',
  'payload',
  'uid',
  'name',
  'secretKey',
  'password',
  '*.line',
  '*.payload',
  '*.uid',
  '*.name',
  '*.secretKey',
  '*.password',
];

export function createTerminalLogger(level: string, terminalId: string): Logger {
  return pino(
    { level, base: { terminal: terminalId }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: true }),
  );
}
