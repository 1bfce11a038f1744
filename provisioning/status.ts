// `provision status`: one screen about this terminal. From the running daemon's /status when it runs
// (online state, clock, input/output health), otherwise read-only from its folder and database.
import { loadConfig } from '../terminal/config.js';
import { daemonDecisions, daemonReport } from './daemon-client.js';
import { readDb, type DbFacts } from './terminal-db.js';
import { paths, runningDaemon } from './terminal-dir.js';

export interface TerminalStatusView {
  terminalId: string;
  role: string;
  gate: string;
  daemon: { running: boolean; pid?: number; healthy?: boolean; problems?: string[]; warnings?: string[] };
  online: boolean | 'unknown';
  clock: string;
  lists: Record<string, { version: number; ageHours: number }>;
  outbox: { depth: number; oldestUnsyncedAgeSeconds?: number; lastSeq: number; ackedSeq: number };
  inputs: { name: string; state: string }[];
  outputs: { name: string; state: string }[];
  /** Decisions by reason: since the daemon started (its metrics), or those still in the outbox. */
  recentReasons: Record<string, number>;
}

export async function terminalStatus(dir: string, now = Date.now()): Promise<TerminalStatusView> {
  const p = paths(dir);
  const config = loadConfig(p.config);
  const d = runningDaemon(dir);
  const report = d ? await daemonReport(d.httpPort) : undefined;
  const decisions = d ? await daemonDecisions(d.httpPort) : undefined;
  let db: DbFacts | undefined;
  try {
    db = readDb(p.db, { integrity: false });
  } catch {
    db = undefined;
  }
  const lists: TerminalStatusView['lists'] = {};
  for (const [type, l] of Object.entries(db?.lists ?? {}))
    lists[type] = { version: l.version, ageHours: +((now / 1000 - l.issuedAt) / 3600).toFixed(2) };
  return {
    terminalId: config.terminalId,
    role: config.role,
    gate: config.gate,
    daemon: d
      ? {
          running: true,
          pid: d.pid,
          ...(report
            ? { healthy: report.healthy, problems: report.problems, warnings: report.warnings }
            : {}),
        }
      : { running: false },
    online: report?.mqtt ? report.mqtt.connected : config.mqtt ? 'unknown' : false,
    clock: report?.clock ?? (db ? 'daemon stopped' : 'unknown'),
    lists,
    outbox: {
      depth: db?.outboxDepth ?? 0,
      ...(db?.oldestUnsyncedAt !== undefined
        ? { oldestUnsyncedAgeSeconds: Math.round((now - db.oldestUnsyncedAt) / 1000) }
        : {}),
      lastSeq: db?.lastSeq ?? 0,
      ackedSeq: db?.ackedSeq ?? 0,
    },
    inputs: report?.inputs?.map((i) => ({ name: i.name, state: i.state })) ?? [],
    outputs: report?.outputs?.map((o) => ({ name: o.name, state: o.state })) ?? [],
    recentReasons: decisions ?? db?.recentReasons ?? {},
  };
}

export function renderStatus(s: TerminalStatusView): string {
  const lines = [
    `terminal ${s.terminalId} (${s.role}, gate ${s.gate})`,
    `daemon:   ${s.daemon.running ? `running, pid ${s.daemon.pid}${s.daemon.healthy === false ? `, problems: ${s.daemon.problems?.join('; ')}` : ''}` : 'stopped'}`,
    `central:  ${s.online === true ? 'online' : s.online === false ? 'offline' : 'unknown (daemon stopped)'}`,
    `clock:    ${s.clock}`,
    `lists:    ${
      Object.entries(s.lists)
        .map(([t, l]) => `${t} v${l.version} (${l.ageHours} h old)`)
        .join(', ') || 'none yet'
    }`,
    `outbox:   ${s.outbox.depth} unsynced${s.outbox.oldestUnsyncedAgeSeconds !== undefined ? `, oldest ${s.outbox.oldestUnsyncedAgeSeconds} s` : ''} (last seq ${s.outbox.lastSeq}, acked ${s.outbox.ackedSeq})`,
    `inputs:   ${s.inputs.map((i) => `${i.name} ${i.state}`).join(', ') || (s.daemon.running ? 'not reported' : '–')}`,
    `outputs:  ${s.outputs.map((o) => `${o.name} ${o.state}`).join(', ') || (s.daemon.running ? 'not reported' : '–')}`,
    `decisions: ${
      Object.entries(s.recentReasons)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ') || 'no decisions waiting in the outbox'
    }`,
  ];
  return lines.join('\n');
}
