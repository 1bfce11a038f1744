// Reading a running daemon from a test: its /status report and its committed outbox.
import Database from 'better-sqlite3';

export interface DeviceView {
  kind: string;
  type: string;
  state: 'ok' | 'absent' | 'fault';
  reason?: string;
}

export async function devices(httpPort: number): Promise<Record<string, DeviceView>> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/status`);
  return ((await res.json()) as { devices: Record<string, DeviceView> }).devices;
}

export async function healthz(httpPort: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export interface OutboxEvent {
  seq: number;
  kind: string;
  decision?: string;
  reason?: string;
  sub?: string;
  direction?: string;
  data?: Record<string, unknown>;
}

export function outbox(dbFile: string): OutboxEvent[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return (
      db.prepare('SELECT seq, body FROM outbox ORDER BY seq').all() as Array<{ seq: number; body: string }>
    ).map((r) => ({ ...(JSON.parse(r.body) as Omit<OutboxEvent, 'seq'>), seq: r.seq }));
  } finally {
    db.close();
  }
}
