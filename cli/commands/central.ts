// `passgate central …`: start central, print fleet status, write a mosquitto config for scale-out.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { adminTokenPath } from '../../central/admin-token.js';
import { startCentral } from '../../central/index.js';
import { IssuerKeystore } from '../../issuer/keystore.js';
import { LIST_KEY_FILE } from '../../central/list-key.js';
import { toHex } from '../../shared/bytes.js';
import type { KeyPair } from '../../shared/keys.js';
import { fleetReport } from '../../central/fleet.js';
import { writeMosquittoConfig } from '../../central/mosquitto-config.js';
import { openStore } from '../../central/store/open.js';
import { COMMANDS } from '../../shared/sync.js';
import { centralClient, centralOptions } from '../central-client.js';
import { UsageError, UserError, optNum, optStr, str, type CommandSpec } from '../command.js';

const RUNTIME_FILE = 'central.json';

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

const ISSUER_FILE = 'issuer.json';

/**
 * Terminals pin the list key at enrollment, so a data folder keeps one list key: its own
 * (list-key.json, made on a first start without --issuer) or the issuer folder's (recorded in
 * issuer.json on a first start with --issuer). Mixing them up is refused.
 */
function checkListKey(dataDir: string, issuerDir: string | undefined, listKey: KeyPair | undefined): void {
  const ownFile = join(dataDir, LIST_KEY_FILE);
  const issuerFile = join(dataDir, ISSUER_FILE);
  if (!listKey) {
    if (existsSync(issuerFile)) {
      const rec = JSON.parse(readFileSync(issuerFile, 'utf8')) as { issuerDir?: string };
      throw new UsageError(
        `${dataDir} signs lists with the list key of the issuer folder ${rec.issuerDir ?? '?'}: pass --issuer again`,
      );
    }
    return;
  }
  const publicKey = toHex(listKey.publicKey);
  const own = existsSync(ownFile)
    ? (JSON.parse(readFileSync(ownFile, 'utf8')) as { publicKey?: unknown })
    : undefined;
  const rec = existsSync(issuerFile)
    ? (JSON.parse(readFileSync(issuerFile, 'utf8')) as { listPublicKey?: unknown })
    : undefined;
  if ((own && own.publicKey !== publicKey) || (rec && rec.listPublicKey !== publicKey))
    throw new UserError(
      `${dataDir} already signs lists with another list key, and the terminals enrolled there pin it. ` +
        `Use a new --data folder for --issuer ${issuerDir}, or start with the issuer folder used before.`,
    );
  if (!rec) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      issuerFile,
      JSON.stringify({ issuerDir: resolve(issuerDir!), listPublicKey: publicKey }, null, 2) + '\n',
    );
  }
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
    issuer: {
      type: 'string',
      description: 'issuer folder: use its list key, and trust its issuer key (from `passgate issuer init`)',
    },
    'public-mqtt-url': {
      type: 'string',
      description: 'broker URL told to terminals at enrollment, e.g. mqtts://central.example:8883',
    },
    'scrypt-cost': {
      type: 'number',
      description: 'log2 scrypt cost for new terminal secrets (default 14; benches lower it)',
    },
    'beacon-every': {
      type: 'number',
      description: 'seconds between signed time beacons (default 10; 0 = none)',
    },
  },
  help: `Examples:
  passgate central start --data ./central --issuer ./issuer
  passgate central start --data ./w1 --broker mqtt://central:SECRET@10.0.0.5:1883 --db postgres://u@db/passgate
Prints one ready line on stdout (with --json: {"ready":true,"mqttPort":…,"httpPort":…,…}); logs go to stderr.
The admin API needs the token in DATA/admin.token (created on first start, 0600).
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
    const beaconEvery = optNum(cmd, 'beacon-every');
    if (beaconEvery !== undefined && (beaconEvery < 0 || beaconEvery > 86_400))
      throw new UsageError('--beacon-every must be 0 … 86400 seconds');
    const publicMqttUrl = optStr(cmd, 'public-mqtt-url');
    const issuerDir = optStr(cmd, 'issuer');
    const issuer = issuerDir !== undefined ? IssuerKeystore.open(issuerDir) : undefined;
    checkListKey(dataDir, issuerDir, issuer?.listKey);
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
      ...(beaconEvery !== undefined ? { beaconEveryMs: Math.round(beaconEvery * 1000) } : {}),
      ...(publicMqttUrl ? { publicMqttUrl } : {}),
      ...(issuer ? { listKey: issuer.listKey } : {}),
    }).catch((err: Error) => {
      throw new UserError(`central could not start: ${err.message}`);
    });
    let trustVersion: number | undefined;
    if (issuer) {
      const k = issuer.trustedKey();
      // idempotent: an already trusted key makes no new trust-list version
      await central.trustIssuerKey({ alg: k.alg, publicKey: k.publicKey, issuer: k.issuer });
      // Revocations made in the folder come along, and central's list versions move past the folder's.
      const adopted = await central.adoptIssuerFolder({
        revoked: issuer.revoked,
        suspended: issuer.suspended,
        versions: issuer.versions,
      });
      trustVersion = adopted.trust;
    }
    const runtime = join(dataDir, RUNTIME_FILE);
    writeFileSync(
      runtime,
      JSON.stringify({ pid: process.pid, mqttPort: central.mqttPort, httpPort: central.httpPort }) + '\n',
    );
    const ready = {
      ok: true,
      ready: true,
      pid: process.pid,
      mqttUrl: central.mqttUrl,
      mqttPort: central.mqttPort,
      httpPort: central.httpPort,
      ...(central.httpPort > 0
        ? { adminUrl: `http://127.0.0.1:${central.httpPort}`, adminTokenFile: adminTokenPath(dataDir) }
        : {}),
      ...(issuer ? { issuer: issuer.issuer, trustVersion } : {}),
    };
    if (io.json) io.out(JSON.stringify(ready));
    else
      io.out(
        `central is running: terminals connect to ${central.mqttUrl}` +
          (ready.adminUrl ? `, admin API on ${ready.adminUrl} (token in ${ready.adminTokenFile})` : '') +
          (issuer ? `; trusts issuer "${issuer.issuer}" (trust list v${trustVersion})` : '') +
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
  summary:
    'write the mosquitto settings, password file and ACL that enforce the same rules as the embedded broker',
  options: {
    data: { type: 'string', description: 'central data folder', required: true },
    db: { type: 'string', description: 'postgres://… when central uses PostgreSQL' },
    out: {
      type: 'string',
      description: 'folder for passgate.conf, passwd, acl, central.secret and data/',
      required: true,
    },
    broker: { type: 'string', description: 'HOST:PORT of the mosquitto, to print the URL for workers' },
  },
  help: `In mosquitto.conf: your listener lines and \`include_dir OUT\` (loads OUT/passgate.conf: no anonymous
access, password_file OUT/passwd, acl_file OUT/acl, persistence in OUT/data/ so retained lists survive a
broker restart, no queue limit). Run again after adding terminals, then send mosquitto SIGHUP to reload.`,
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
            confFile: files.confFile,
            centralUrl: url,
          }),
        );
      else
        io.out(
          `wrote ${files.confFile}, ${files.passwordFile} and ${files.aclFile}. Start each worker with:\n  passgate central start --data DIR --broker '${url}' --db postgres://…`,
        );
      return 0;
    } finally {
      await store.close();
    }
  },
};

const COMMAND_TEXT: Record<string, string> = {
  open_gate_once: 'opens the gate once (recorded as a remote accept)',
  reload: 'reloads its cached lists from its database',
  resync: 'fetches the lists from central again',
};

const command: CommandSpec = {
  name: 'central command',
  summary: `send a command to one terminal: ${COMMANDS.join(' | ')}`,
  options: {
    terminal: { type: 'string', description: 'terminal id', required: true },
    command: { type: 'string', description: COMMANDS.join(' | '), required: true },
    ...centralOptions,
  },
  help: `Examples:
  passgate central command --central-data ./central --terminal gate-north-1 --command open_gate_once
  passgate central command --central http://127.0.0.1:8480 --token TOKEN --terminal kiosk-1 --command resync
Commands are not queued: a terminal that is offline now never gets it (send it again when it is back).`,
  async run(cmd, io) {
    const terminal = str(cmd, 'terminal');
    const word = str(cmd, 'command');
    if (!(COMMANDS as readonly string[]).includes(word))
      throw new UsageError(`--command must be one of ${COMMANDS.join(', ')}, got "${word}"`);
    const client = centralClient(cmd);
    const r = await client.request<{ online: boolean }>('/command', { terminal, command: word });
    if (io.json)
      io.out(JSON.stringify({ ok: true, central: client.url, terminal, command: word, online: r.online }));
    else
      io.out(
        r.online
          ? `sent ${word} to ${terminal}: it ${COMMAND_TEXT[word]}.`
          : `sent ${word} to ${terminal}, but central sees it offline: commands are not queued, so send it again when it is back online (passgate central status).`,
      );
    return 0;
  },
};

export const centralCommands: CommandSpec[] = [start, status, mosquittoConfig, command];
