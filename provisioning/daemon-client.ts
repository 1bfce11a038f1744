// The running daemon's own view, from its local status endpoint (terminal/http.ts, 127.0.0.1 only).
import { request } from 'node:http';
import type { TerminalReport } from '../terminal/status.js';

/** The daemon's /status report, with the parts later daemons add (sync link, input/output health). */
export interface DaemonReport extends TerminalReport {
  mqtt?: { connected: boolean };
  inputs?: { name: string; kind?: string; state: string }[];
  outputs?: { name: string; kind?: string; state: string }[];
}

export function daemonReport(port: number, timeoutMs = 3000): Promise<DaemonReport | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/status', timeout: timeoutMs }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as DaemonReport);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
