// `provision decommission`: take a terminal out of service for good.
// 1. Drain: every event must reach central first. A running daemon keeps sending; a stopped one is run
//    here with its inputs off (sync only) until the outbox is empty or the wait runs out.
// 2. Unsynced events left → refused, naming the count, unless --force (then they are lost, and said so).
// 3. Stop the daemon (systemd: disable --now, or Restart=always would bring it back; else SIGTERM).
// 4. Tell central (signed with the terminal key): the id is retired, its secret stops working, its
//    events stay. Central unreachable → refused unless --force.
// 5. Wipe keys, secrets and the database (overwritten, then removed), and the folder's config.
import { existsSync, openSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import pino from 'pino';
import { loadConfig, type TerminalConfig } from '../terminal/config.js';
import { startTerminal } from '../terminal/daemon.js';
import { loadSigningKey } from '../terminal/keys.js';
import { answerMessage, askCentral } from './central-link.js';
import { Refused } from './errors.js';
import { isProcessAlive, run, which } from './process.js';
import { SERVICE_NAME } from './service.js';
import { readDb } from './terminal-db.js';
import { paths, readProvisionRecord, runningDaemon } from './terminal-dir.js';

export interface DecommissionOutcome {
  terminalId: string;
  unsyncedLost: number;
  centralTold: boolean;
  wiped: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unsynced(dbFile: string): number {
  if (!existsSync(dbFile)) return 0;
  return readDb(dbFile, { integrity: false }).outboxDepth;
}

async function waitDrained(dbFile: string, deadline: number): Promise<number> {
  let left = unsynced(dbFile);
  while (left > 0 && Date.now() < deadline) {
    await sleep(250);
    left = unsynced(dbFile);
  }
  return left;
}

/** Runs the daemon here with no inputs and no outputs, only the sync link, until drained or deadline. */
async function drainStopped(config: TerminalConfig, dbFile: string, deadline: number): Promise<number> {
  if (!config.mqtt || unsynced(dbFile) === 0) return unsynced(dbFile);
  const drainConfig: TerminalConfig = {
    ...config,
    inputs: [],
    http: { host: '127.0.0.1', port: 0 },
  };
  const t = await startTerminal(drainConfig, { logger: pino({ level: 'silent' }), consoleOutput: false });
  try {
    return await waitDrained(dbFile, deadline);
  } finally {
    await t.stop();
  }
}

function shred(file: string): void {
  if (!existsSync(file)) return;
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    try {
      const zeros = Buffer.alloc(Math.min(size, 1 << 20));
      for (let at = 0; at < size; at += zeros.length)
        writeSync(fd, zeros, 0, Math.min(zeros.length, size - at), at);
    } finally {
      closeSync(fd);
    }
  } catch {
    // removal below still happens
  }
  rmSync(file, { force: true });
}

async function stopDaemon(dir: string): Promise<void> {
  if (existsSync('/run/systemd/system') && which('systemctl')) {
    const active = (await run('systemctl', ['is-active', SERVICE_NAME], 5000)).stdout.trim();
    if (active === 'active') await run('systemctl', ['disable', '--now', SERVICE_NAME], 60_000);
  }
  const d = runningDaemon(dir);
  if (!d) return;
  process.kill(d.pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (isProcessAlive(d.pid) && Date.now() < deadline) await sleep(100);
  if (isProcessAlive(d.pid))
    throw new Refused(
      'daemon_did_not_stop',
      `the daemon (pid ${d.pid}) did not stop within 30 s; stop it and run again`,
    );
}

export async function decommission(
  dir: string,
  opts: { force?: boolean; waitMs?: number } = {},
): Promise<DecommissionOutcome> {
  const p = paths(dir);
  const config = loadConfig(p.config);
  const record = readProvisionRecord(dir);
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  const daemon = runningDaemon(dir);
  const left = daemon ? await waitDrained(p.db, deadline) : await drainStopped(config, p.db, deadline);
  if (left > 0 && !opts.force)
    throw new Refused(
      'unsynced_events',
      `${left} event(s) have not reached central yet; nothing was changed. Fix the link to central (provision doctor) ` +
        `and run again, or decommission with --force to lose those ${left} event(s).`,
    );
  await stopDaemon(dir);
  const leftAfterStop = unsynced(p.db);

  let centralTold = false;
  if (record) {
    let refusal: Refused | undefined;
    try {
      const key = loadSigningKey(config.signingKeyFile);
      const a = await askCentral(record, key, 'retire', { unsynced: leftAfterStop });
      if (a.status === 200) centralTold = true;
      else
        refusal = new Refused(
          'retire_refused',
          `central refused to retire ${config.terminalId}: ${answerMessage(a)}`,
        );
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      refusal = err;
    }
    if (refusal && !opts.force)
      throw new Refused(
        refusal.code,
        `${refusal.message}. Nothing was wiped (the daemon is stopped); run again, or --force to wipe without telling central.`,
      );
  } else if (!opts.force)
    throw new Refused(
      'central_unknown',
      `${p.provision} is missing, so central can't be told; retire ${config.terminalId} at central (passgate central retire) and run again with --force`,
    );

  const wiped: string[] = [];
  const files = [
    config.signingKeyFile,
    `${config.signingKeyFile}.old`,
    config.mqtt?.passwordFile,
    config.mqtt?.passwordFile ? `${config.mqtt.passwordFile}.old` : undefined,
    config.cardKeyFile,
    config.mqtt?.caFile,
    p.db,
    `${p.db}-wal`,
    `${p.db}-shm`,
    p.provision,
    p.runtime,
    p.config,
  ].filter((f): f is string => f !== undefined);
  for (const f of files)
    if (existsSync(f)) {
      shred(f);
      wiped.push(f.startsWith(p.dir + '/') ? f.slice(p.dir.length + 1) : f);
    }
  return { terminalId: config.terminalId, unsyncedLost: leftAfterStop, centralTold, wiped };
}
