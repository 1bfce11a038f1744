// `passgate central …`: start central, print fleet status, write a mosquitto config for scale-out.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startCentral } from '../../central/index.js';
import { fleetReport } from '../../central/fleet.js';
import { writeMosquittoConfig } from '../../central/mosquitto-config.js';
import { openStore } from '../../central/store/open.js';
import { UserError, optNum, optStr, str, type CommandSpec } from '../command.js';

const RUNTIME_FILE = 'central.json';

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

const start: CommandSpec = {
  name: 'central start',
  summary: 'run central: MQTT broker, event ingest, list publisher and admin API',
  options: {
    data: { type: 'string', description: 'data folder (store, list key)', required: true },
    'mqtt-port': { type: 'number', description: 'embedded broker port (default 1883)' },
    'http-port': { type: 'number', description: 'admin API port on 127.0.0.1 (default 8480)' },
    'tls-cert': { type: 'string', description: 'PEM certificate: serve MQTT over TLS' },
    'tls-key': { type: 'string', description: 'PEM private key for --tls-cert' },
    broker: { type: 'string', description: 'external broker mqtt://central:SECRET@HOST:PORT (scale-out)' },
    db: { type: 'string', description: 'postgres://… (default: SQLite in the data folder)' },
    worker: { type: 'string', description: 'worker name (scale-out)' },
    'scrypt-cost': {
      type: 'number',
      description: 'log2 scrypt cost for new terminal secrets (default 14; benches lower it)',
    },
  },
  help: `Examples:
  passgate central start --data ./central
  passgate central start --data ./w1 --broker mqtt://central:SECRET@10.0.0.5:1883 --db postgres://u@db/passgate
Stops cleanly on Ctrl-C or SIGTERM.`,
  async run(cmd, io) {
    const cert = optStr(cmd, 'tls-cert');
    const key = optStr(cmd, 'tls-key');
    if (!!cert !== !!key)
      throw new UserError('--tls-cert and --tls-key go together: give both, or neither for plain TCP');
    const dataDir = str(cmd, 'data');
    const broker = optStr(cmd, 'broker');
    const db = optStr(cmd, 'db');
    const worker = optStr(cmd, 'worker');
    const mqttPort = optNum(cmd, 'mqtt-port');
    const httpPort = optNum(cmd, 'http-port');
    const scryptCost = optNum(cmd, 'scrypt-cost');
    const central = await startCentral({
      dataDir,
      // logs to stderr, so stdout keeps the plain-words (or --json) output
      logger: pino({ name: 'central' }, pino.destination(2)),
      ...(mqttPort !== undefined ? { mqttPort } : {}),
      ...(httpPort !== undefined ? { httpPort } : {}),
      ...(cert && key ? { tls: { certFile: cert, keyFile: key } } : {}),
      ...(broker ? { broker } : {}),
      ...(db ? { db } : {}),
      ...(worker ? { workerId: worker } : {}),
      ...(scryptCost !== undefined ? { scryptCost } : {}),
    }).catch((err: Error) => {
      throw new UserError(`central could not start: ${err.message}`);
    });
    const runtime = join(dataDir, RUNTIME_FILE);
    writeFileSync(
      runtime,
      JSON.stringify({ pid: process.pid, mqttPort: central.mqttPort, httpPort: central.httpPort }) + '\n',
    );
    if (io.json) io.out(JSON.stringify({ ok: true, mqttUrl: central.mqttUrl, httpPort: central.httpPort }));
    else
      io.out(
        `central is running: terminals connect to ${central.mqttUrl}` +
          (central.httpPort > 0 ? `, admin API on http://127.0.0.1:${central.httpPort}` : '') +
          '. Ctrl-C stops it.',
      );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await central.stop();
    rmSync(runtime, { force: true });
    return 0;
  },
};

const status: CommandSpec = {
  name: 'central status',
  summary: 'print the fleet: terminals online/offline, last seen, outbox lag, list versions, clock',
  options: {
    data: { type: 'string', description: 'central data folder', required: true },
    db: { type: 'string', description: 'postgres://… when central uses PostgreSQL' },
  },
  async run(cmd, io) {
    const dataDir = str(cmd, 'data');
    const db = optStr(cmd, 'db');
    if (!db && !existsSync(join(dataDir, 'central.db')))
      throw new UserError(
        `no central store in ${dataDir}: start central there first (passgate central start --data ${dataDir})`,
      );
    const store = openStore(db, join(dataDir, 'central.db'));
    await store.init();
    try {
      const report = fleetReport(await store.terminals(), Date.now());
      const lists: Record<string, number> = {};
      for (const t of ['trust', 'revocation'] as const) lists[t] = (await store.listState(t)).version;
      const events = await store.eventCount();
      const running = existsSync(join(dataDir, RUNTIME_FILE))
        ? (JSON.parse(readFileSync(join(dataDir, RUNTIME_FILE), 'utf8')) as { pid: number })
        : undefined;
      if (io.json) {
        io.out(JSON.stringify({ ok: true, running: !!running, lists, events, ...report }));
        return 0;
      }
      io.out(
        `central ${running ? `is running (pid ${running.pid})` : 'is not running'} · ${events} events stored · ` +
          `lists: trust v${lists.trust}, revocation v${lists.revocation}`,
      );
      io.out(`${report.terminals.length} terminals: ${report.online} online, ${report.offline} offline`);
      for (const t of report.terminals) {
        const listText = Object.entries(t.lists ?? {})
          .map(([k, v]) => `${k} v${v.version}`)
          .join(', ');
        io.out(
          `  ${t.id.padEnd(20)} ${t.role.padEnd(10)} ${(t.online ? 'online' : 'offline').padEnd(8)}` +
            ` last seen ${t.lastSeen ? ago(Date.now() - t.lastSeen) : 'never'}` +
            ` · acked seq ${t.ackedSeq}` +
            (t.outboxLag !== undefined ? ` · outbox lag ${t.outboxLag}` : '') +
            (listText ? ` · ${listText}` : '') +
            (t.clock ? ` · clock ${t.clock}` : ''),
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};

const mosquittoConfig: CommandSpec = {
  name: 'central mosquitto-config',
  summary: 'write the mosquitto password file and ACL that enforce the same rules as the embedded broker',
  options: {
    data: { type: 'string', description: 'central data folder', required: true },
    db: { type: 'string', description: 'postgres://… when central uses PostgreSQL' },
    out: { type: 'string', description: 'folder for passwd, acl and central.secret', required: true },
    broker: { type: 'string', description: 'HOST:PORT of the mosquitto, to print the URL for workers' },
  },
  help: `In mosquitto.conf: allow_anonymous false, password_file OUT/passwd, acl_file OUT/acl.
Run again after adding terminals, then send mosquitto SIGHUP to reload.`,
  async run(cmd, io) {
    const dataDir = str(cmd, 'data');
    const store = openStore(optStr(cmd, 'db'), join(dataDir, 'central.db'));
    await store.init();
    try {
      const files = await writeMosquittoConfig(store, str(cmd, 'out'));
      const url = files.centralUrl(optStr(cmd, 'broker') ?? 'HOST:1883');
      if (io.json)
        io.out(
          JSON.stringify({
            ok: true,
            passwordFile: files.passwordFile,
            aclFile: files.aclFile,
            centralUrl: url,
          }),
        );
      else
        io.out(
          `wrote ${files.passwordFile} and ${files.aclFile}. Start each worker with:\n  passgate central start --data DIR --broker '${url}' --db postgres://…`,
        );
      return 0;
    } finally {
      await store.close();
    }
  },
};

export const centralCommands: CommandSpec[] = [start, status, mosquittoConfig];
