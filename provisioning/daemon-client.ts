// The running daemon's own view, from its local status endpoint (terminal/http.ts, 127.0.0.1 only).
import { request } from 'node:http';
import type { TerminalReport } from '../terminal/status.js';

/** The daemon's /status report, with the parts later daemons add (sync link, input/output health). */
export interface DaemonReport extends TerminalReport {
  mqtt?: { connected: boolean };
  inputs?: { name: string; kind?: string; state: string }[];
  outputs?: { name: string; kind?: string; state: string }[];
}

/** Decisions since the daemon started, by reason, from its /metrics (passgate_decisions_total). */
export async function daemonDecisions(
  port: number,
  timeoutMs = 3000,
): Promise<Record<string, number> | undefined> {
  const text = await get(port, '/metrics', timeoutMs);
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^passgate_decisions_total\{([^}]*)\} (\d+)/gm)) {
    const reason = /reason="([a-z_]+)"/.exec(m[1]!)?.[1];
    if (reason) out[reason] = (out[reason] ?? 0) + Number(m[2]);
  }
  return out;
}

function get(port: number, path: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export async function daemonReport(port: number, timeoutMs = 3000): Promise<DaemonReport | undefined> {
  const text = await get(port, '/status', timeoutMs);
  try {
    return text === undefined ? undefined : (JSON.parse(text) as DaemonReport);
  } catch {
    return undefined;
  }
}
