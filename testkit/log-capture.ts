// A pino logger whose JSON lines are kept for assertions (and echoed to stderr when LOG_LEVEL is set).
import pino, { type Logger } from 'pino';

export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        if (process.env.LOG_LEVEL) process.stderr.write(line);
      },
    },
  );
  return { logger, lines };
}
