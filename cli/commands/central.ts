// `passgate central …`: start central, print fleet status, write a mosquitto config for scale-out.
import { showFingerprint } from '../../shared/enrollment-string.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readJsonObject } from '../../shared/files.js';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { adminTokenPath } from '../../central/admin-token.js';
import { startCentral, type Central } from '../../central/index.js';
import { IssuerKeystore } from '../../issuer/keystore.js';
import { LIST_KEY_FILE } from '../../central/list-key.js';
import { toHex } from '../../shared/bytes.js';
import type { KeyPair } from '../../shared/keys.js';
import { fleetReport, type FleetReport } from '../../central/fleet.js';
import { writeMosquittoConfig } from '../../central/mosquitto-config.js';
import { openStore } from '../../central/store/open.js';
import type { Alert } from '../../central/store/types.js';
import { assertTerminalId } from '../../shared/ids.js';
import { COMMANDS } from '../../shared/sync.js';
import { printable } from '../printable.js';
import { centralClient, centralOptions } from '../central-client.js';
import { stopSignal } from '../signals.js';
import { liveRuntime, pidAlive, readRuntime, removeRuntime, writeRuntime } from '../central-runtime.js';
import {
  UsageError,
  UserError,
  optNum,
  optStr,
  str,
  type CommandIo,
  type CommandSpec,
  type ParsedCommand,
} from '../command.js';

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
function checkListKey(
  dataDir: string,
  issuerDir: string | undefined,
  listKey: KeyPair | undefined,
): () => void {
  const ownFile = join(dataDir, LIST_KEY_FILE);
  const issuerFile = join(dataDir, ISSUER_FILE);
  if (!listKey) {
    if (existsSync(issuerFile)) {
      const rec = readJsonObject(issuerFile, 'issuer binding');
      throw new UsageError(
        `${dataDir} signs lists with the list key of the issuer folder ${typeof rec.issuerDir === 'string' ? rec.issuerDir : '?'}: pass --issuer again`,
      );
    }
    return () => undefined;
  }
  const publicKey = toHex(listKey.publicKey);
  const own = existsSync(ownFile) ? readJsonObject(ownFile, "central's list key") : undefined;
  const rec = existsSync(issuerFile) ? readJsonObject(issuerFile, 'issuer binding') : undefined;
  if ((own && own.publicKey !== publicKey) || (rec && rec.listPublicKey !== publicKey))
    throw new UserError(
      `${dataDir} already signs lists with another list key, and the terminals enrolled there pin it. ` +
        `Use a new --data folder for --issuer ${issuerDir}, or start with the issuer folder used before.`,
    );
  // Recorded once central has started: a failed start leaves no binding behind.
  return () => {
    if (rec) return;
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      issuerFile,
      JSON.stringify({ issuerDir: resolve(issuerDir!), listPublicKey: publicKey }, null, 2) + '\n',
    );
  };
}

/** A port from the option, else the environment variable (documented for tests and scripts), else undefined. */
function portOption(cmd: ParsedCommand, name: string, env: string): number | undefined {
  const fromOption = optNum(cmd, name);
  const raw =
    fromOption ??
    (process.env[env] !== undefined && process.env[env] !== '' ? Number(process.env[env]) : undefined);
  if (raw === undefined) return undefined;
  if (!Number.isInteger(raw) || raw < 0 || raw > 65535)
    throw new UsageError(
      `${fromOption !== undefined ? `--${name}` : env} must be a port number from 0 to 65535 (0 = any free port), got ${fromOption ?? process.env[env]}`,
    );
  return raw;
}

/** --broker with the secret from --broker-secret-file (so it never has to be typed or printed). */
function brokerUrl(url: string | undefined, secretFile: string | undefined): string | undefined {
  if (secretFile !== undefined && url === undefined)
    throw new UsageError('--broker-secret-file goes with --broker');
  if (url === undefined || secretFile === undefined) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--broker must be a URL such as mqtt://central@HOST:1883, got "${url}"`);
  }
  if (!existsSync(secretFile)) throw new UserError(`--broker-secret-file: ${secretFile} does not exist`);
  u.username ||= 'central';
  u.password = encodeURIComponent(readFileSync(secretFile, 'utf8').trim());
  return u.toString();
}

/** Remembers what is in a folder now, to remove what a failed start added (and the folder, if it made it). */
function newEntries(dir: string): { remove(): void } {
  const existed = existsSync(dir);
  const before = new Set(existed ? readdirSync(dir) : []);
  return {
    remove() {
      if (!existed) return rmSync(dir, { recursive: true, force: true });
      for (const name of existsSync(dir) ? readdirSync(dir) : [])
        if (!before.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
    },
  };
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
    broker: {
      type: 'string',
      description: 'external broker mqtt://central@HOST:PORT (scale-out; secret from --broker-secret-file)',
    },
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
    'broker-secret-file': {
      type: 'string',
      description: "file with central's broker secret for --broker (from `central mosquitto-config`)",
    },
    'scrypt-cost': {
      type: 'number',
      description: 'log2 scrypt cost for new terminal secrets (default 14; benches lower it)',
    },
    'enroll-port': {
      type: 'number',
      description: 'serve network enrollment (HTTPS) for terminals on this port (0 = any free port)',
    },
    'enroll-host': { type: 'string', description: 'address the enrollment listener binds (default 0.0.0.0)' },
    'enroll-public-host': {
      type: 'string',
      description: 'host name or address terminals reach central at (default: guessed, printed)',
    },
    'beacon-every': {
      type: 'number',
      description: 'seconds between signed time beacons (default 10; 0 = none)',
    },
  },
  help: `Examples:
  passgate central start --data ./central --issuer ./issuer --enroll-port 8443
  passgate central start --data ./w1 --broker mqtt://central@10.0.0.5:1883 --broker-secret-file ./mq/central.secret --db postgres://u@db/passgate
Prints one ready line on stdout (with --json: {"ready":true,"mqttPort":…,"httpPort":…,…}); logs go to stderr.
Ports: --mqtt-port and --http-port, else the environment variables PASSGATE_MQTT_PORT and PASSGATE_HTTP_PORT,
else 1883 and 8480 (0 = any free port). The pid and the bound ports go to DATA/central.json, where the other
commands find them (--central-data DATA). The admin API needs the token in DATA/admin.token (0600).
If the start fails (a port in use …) it exits 2 at once and leaves the data folder as it was.
Stop it with Ctrl-C or SIGTERM (kill PID); every shutdown step is bounded, and it says "central stopped".`,
  async run(cmd, io) {
    const cert = optStr(cmd, 'tls-cert');
    const key = optStr(cmd, 'tls-key');
    if (!!cert !== !!key)
      throw new UserError('--tls-cert and --tls-key go together: give both, or neither for plain TCP');
    const dataDir = str(cmd, 'data');
    const db = optStr(cmd, 'db');
    const worker = optStr(cmd, 'worker');
    const mqttPort = portOption(cmd, 'mqtt-port', 'PASSGATE_MQTT_PORT');
    const httpPort = portOption(cmd, 'http-port', 'PASSGATE_HTTP_PORT');
    const scryptCost = optNum(cmd, 'scrypt-cost');
    const beaconEvery = optNum(cmd, 'beacon-every');
    if (beaconEvery !== undefined && (beaconEvery < 0 || beaconEvery > 86_400))
      throw new UsageError('--beacon-every must be 0 … 86400 seconds');
    const publicMqttUrl = optStr(cmd, 'public-mqtt-url');
    const broker = brokerUrl(optStr(cmd, 'broker'), optStr(cmd, 'broker-secret-file'));
    const already = liveRuntime(dataDir);
    if (already)
      throw new UserError(
        `central already runs with data folder ${dataDir} (pid ${already.pid}); stop it first (kill ${already.pid})`,
      );
    const issuerDir = optStr(cmd, 'issuer');
    const enrollPort = optNum(cmd, 'enroll-port');
    if (enrollPort !== undefined && (!Number.isInteger(enrollPort) || enrollPort < 0 || enrollPort > 65535))
      throw new UsageError('--enroll-port must be a port number 0-65535');
    const issuer = issuerDir !== undefined ? IssuerKeystore.open(issuerDir) : undefined;
    const recordIssuer = checkListKey(dataDir, issuerDir, issuer?.listKey);
    // Whatever this start creates is removed again if it fails: a retry starts from the same state.
    const created = newEntries(dataDir);
    let central: Central | undefined;
    let trustVersion: number | undefined;
    try {
      central = await startCentral({
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
        ...(issuer ? { listKey: issuer.listKey, cardKey: issuer.cardKey() } : {}),
        ...(enrollPort !== undefined
          ? {
              enroll: {
                port: enrollPort,
                ...(optStr(cmd, 'enroll-host') ? { host: optStr(cmd, 'enroll-host')! } : {}),
                ...(optStr(cmd, 'enroll-public-host')
                  ? { publicHost: optStr(cmd, 'enroll-public-host')! }
                  : {}),
              },
            }
          : {}),
      });
      if (issuer) {
        const k = issuer.trustedKey();
        // idempotent: an already trusted key makes no new trust-list version
        await central.trustIssuerKey({ alg: k.alg, publicKey: k.publicKey, issuer: k.issuer });
        // Revocations made in the folder come along, and central's list versions move past the folder's.
        const adopted = await central.adoptIssuerFolder({
          revoked: issuer.revoked,
          suspended: issuer.suspended,
          versions: issuer.versions,
          cards: issuer.cards,
        });
        trustVersion = adopted.trust;
      }
      recordIssuer();
    } catch (err) {
      await central?.stop().catch(() => undefined);
      created.remove();
      throw new UserError(
        `central could not start: ${(err as Error).message}` +
          ((err as NodeJS.ErrnoException).code === 'EADDRINUSE'
            ? ' (another program uses that port: stop it, or pick another with --mqtt-port / --http-port, 0 = any free port)'
            : '') +
          `. Nothing was left behind in ${dataDir}.`,
      );
    }
    // Listen for the stop signal before anything announces this process (central.json, the ready line):
    // a supervisor may signal as soon as it sees either, and an unhandled SIGTERM would skip the clean stop.
    const stopping = stopSignal(() =>
      io.err('central is stopping (every step has a time limit); please wait'),
    );
    writeRuntime(dataDir, {
      pid: process.pid,
      mqttPort: central.mqttPort,
      httpPort: central.httpPort,
      startedAt: Date.now(),
      ...(central.enrollment ? { enrollPort: central.enrollment.port } : {}),
    });
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
      ...(central.enrollment
        ? {
            enrollUrl: central.enrollment.url,
            enrollPort: central.enrollment.port,
            enrollFingerprint: central.enrollment.fingerprint,
          }
        : {}),
    };
    if (io.json) io.out(JSON.stringify(ready));
    else
      io.out(
        `central is running (pid ${process.pid}): terminals connect to ${central.mqttUrl}` +
          (ready.adminUrl ? `, admin API on ${ready.adminUrl} (token in ${ready.adminTokenFile})` : '') +
          (issuer ? `; trusts issuer "${issuer.issuer}" (trust list v${trustVersion})` : '') +
          (central.enrollment
            ? `; terminals enroll at ${central.enrollment.url} (certificate SHA-256 ${showFingerprint(central.enrollment.fingerprint)})`
            : '') +
          `. Stop it with Ctrl-C or \`kill ${process.pid}\`.`,
      );
    await stopping;
    const clean = await central.stop();
    removeRuntime(dataDir);
    if (io.json) io.out(JSON.stringify({ ok: true, stopped: true, clean }));
    else
      io.out(
        clean ? 'central stopped.' : 'central stopped (some parts did not finish in time; see the log).',
      );
    return 0;
  },
};

const status: CommandSpec = {
  name: 'central status',
  summary: 'print the fleet: is central running, terminals online/offline, last seen, outbox lag, lists',
  options: {
    data: { type: 'string', description: "central's data folder (same as --central-data)" },
    'central-data': {
      type: 'string',
      description: "central's data folder (as given to `central start --data`)",
    },
    db: { type: 'string', description: 'postgres://… when central uses PostgreSQL' },
    central: { type: 'string', description: 'admin API URL of a central elsewhere (with --token)' },
    token: { type: 'string', description: 'admin token for --central' },
    wait: {
      type: 'number',
      description: 'wait up to N seconds for central to be running and answering (after `central start &`)',
    },
  },
  help: `Reads central's store in the data folder, and DATA/central.json to tell whether central runs (its pid).
Exit 0 when central is running, 1 when it is not (the report then shows the data as central last wrote it).
Outbox lag = a terminal's last seq in its latest status minus the seq central has stored from it.`,
  async run(cmd, io) {
    const dataDir = optStr(cmd, 'data') ?? optStr(cmd, 'central-data');
    if (optStr(cmd, 'central') !== undefined) {
      // A central elsewhere: ask its admin API (GET /status); it answers, so it runs.
      const client = centralClient(cmd);
      const st = await client.request<
        FleetReport & { lists: Record<string, { version: number }>; events: number }
      >('/status');
      const lists = Object.fromEntries(Object.entries(st.lists).map(([t, l]) => [t, l.version]));
      const { lists: _l, events, ...report } = st;
      printStatus(io, { running: true, url: client.url, lists, events, report });
      return 0;
    }
    if (dataDir === undefined)
      throw new UsageError("give --data DIR (central's data folder) or --central URL with --token");
    const db = optStr(cmd, 'db');
    const wait = optNum(cmd, 'wait');
    if (wait !== undefined) {
      if (!(wait >= 0 && wait <= 3600)) throw new UsageError('--wait must be seconds from 0 to 3600');
      if (!(await waitForCentral(dataDir, wait * 1000)))
        throw new UserError(
          `central did not start with data folder ${dataDir} within ${wait} s; see its log`,
        );
    }
    const dbFile = join(dataDir, 'central.db');
    if (!db && !existsSync(dbFile))
      throw new UserError(
        `no central store in ${dataDir}: start central there first (passgate central start --data ${dataDir})`,
      );
    const runtime = readRuntime(dataDir);
    const running = runtime !== undefined && pidAlive(runtime.pid);
    const store = openStore(db, dbFile);
    await store.init();
    try {
      const now = Date.now();
      const report = fleetReport(await store.terminals(), now);
      const lists: Record<string, number> = {};
      for (const t of ['trust', 'revocation', 'cards'] as const)
        lists[t] = (await store.listState(t)).version;
      const events = await store.eventCount();
      const alerts = { total: await store.alertCount(), recent: await store.alerts(10) };
      // Without a running central nobody updates the store: say how old what it shows is.
      const dataAt = db ? undefined : lastWrite(dbFile);
      if (!running) for (const t of report.terminals) t.online = false;
      if (!running) [report.online, report.offline] = [0, report.terminals.length];
      printStatus(io, {
        running,
        ...(running ? { pid: runtime.pid, startedAt: runtime.startedAt } : {}),
        ...(runtime && !running ? { stalePid: runtime.pid } : {}),
        ...(dataAt !== undefined ? { dataAt } : {}),
        lists,
        events,
        report,
        alerts,
      });
      return running ? 0 : 1;
    } finally {
      await store.close();
    }
  },
};

interface StatusView {
  running: boolean;
  pid?: number;
  startedAt?: number;
  /** The pid of a central.json whose process is gone. */
  stalePid?: number;
  dataAt?: number;
  url?: string;
  lists: Record<string, number>;
  events: number;
  report: FleetReport;
  alerts?: { total: number; recent: Alert[] };
}

function printStatus(io: CommandIo, v: StatusView): void {
  const { running, lists, events, report } = v;
  const now = Date.now();
  if (io.json) {
    const { report: r, stalePid: _stale, ...rest } = v;
    io.out(JSON.stringify({ ok: running, ...rest, ...r }));
    return;
  }
  io.out(
    (running
      ? `central is running` +
        (v.pid !== undefined ? ` (pid ${v.pid}, started ${ago(now - (v.startedAt ?? now))})` : ` at ${v.url}`)
      : `central is NOT running` +
        (v.stalePid !== undefined ? ` (pid ${v.stalePid} is gone: it did not stop cleanly)` : '') +
        (v.dataAt !== undefined ? `; this is the data it last wrote, ${ago(now - v.dataAt)}` : '')) +
      ` · ${events} events stored · lists: trust v${lists.trust}, revocation v${lists.revocation}, cards v${lists.cards}`,
  );
  io.out(
    `${report.terminals.length} terminals: ` +
      (running
        ? `${report.online} online, ${report.offline} offline`
        : 'state unknown while central is down'),
  );
  // Everything below that a terminal reported goes through printable(): no escape sequences.
  for (const t of report.terminals) {
    const listText = Object.entries(t.lists ?? {})
      .map(([k, l]) => `${printable(k, 16)} v${l.version}`)
      .join(', ');
    io.out(
      `  ${printable(t.id).padEnd(20)} ${printable(t.role, 16).padEnd(10)} ${(running ? (t.online ? 'online' : 'offline') : '?').padEnd(8)}` +
        ` last seen ${t.lastSeen ? ago(now - t.lastSeen) : 'never'}` +
        ` · stored up to seq ${t.ackedSeq}` +
        (t.outboxLag !== undefined
          ? ` · outbox lag ${t.outboxLag}${t.statusAt !== undefined ? ` (status ${ago(now - t.statusAt)})` : ''}`
          : '') +
        (listText ? ` · ${listText}` : '') +
        (t.clock ? ` · clock ${printable(t.clock, 16)}` : ''),
    );
    const readers = Object.entries(t.readers ?? {});
    if (readers.length > 0)
      io.out(
        `      readers: ${readers.map(([name, state]) => `${printable(name, 64)} ${printable(String(state), 32)}`).join(', ')}`,
      );
  }
  const alerts = v.alerts;
  if (alerts && alerts.total > 0) {
    io.out(`${alerts.total} alerts (newest first; all on GET /alerts):`);
    for (const a of alerts.recent)
      io.out(
        `  ${new Date(a.at).toISOString()} ${a.kind} ${printable(a.terminal)} ` +
          printable(
            Object.entries(a.detail)
              .map(([k, val]) => `${k}=${String(val)}`)
              .join(' '),
            200,
          ),
      );
  }
}

/** Newest modification time of the SQLite store and its WAL. */
function lastWrite(dbFile: string): number | undefined {
  let latest: number | undefined;
  for (const f of [dbFile, `${dbFile}-wal`])
    if (existsSync(f)) latest = Math.max(latest ?? 0, statSync(f).mtimeMs);
  return latest;
}

/** Polls DATA/central.json and the admin API's /healthz until central answers, or the time is up. */
async function waitForCentral(dataDir: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = liveRuntime(dataDir);
    if (r) {
      if (r.httpPort <= 0) return true;
      const ok = await fetch(`http://127.0.0.1:${r.httpPort}/healthz`, { signal: AbortSignal.timeout(1000) })
        .then((res) => res.ok)
        .catch(() => false);
      if (ok) return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
    broker: { type: 'string', description: 'HOST:PORT of the mosquitto, for the worker command it prints' },
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
      // The URL without the secret: central's broker secret stays in its 0600 file, never on screen.
      const url = `mqtt://central@${optStr(cmd, 'broker') ?? 'HOST:1883'}`;
      if (io.json)
        io.out(
          JSON.stringify({
            ok: true,
            passwordFile: files.passwordFile,
            aclFile: files.aclFile,
            confFile: files.confFile,
            centralSecretFile: files.centralSecretFile,
            brokerUrl: url,
          }),
        );
      else
        io.out(
          `wrote ${files.confFile}, ${files.passwordFile}, ${files.aclFile} and ${files.centralSecretFile} (central's broker secret, 0600).\n` +
            `Start each worker with:\n  passgate central start --data DIR --broker ${url} --broker-secret-file ${files.centralSecretFile} --db postgres://…`,
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
    assertTerminalId(terminal, '--terminal');
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

const acceptGap: CommandSpec = {
  name: 'central accept-gap',
  summary: 'disaster recovery: let a terminal continue from SEQ, recording the events before it as lost',
  options: {
    terminal: { type: 'string', description: 'terminal id', required: true },
    from: { type: 'number', description: 'the first seq the terminal still holds', required: true },
    ...centralOptions,
  },
  help: `Only after central was restored from an older backup (or lost its database) while terminals had
already deleted events the newer copy acknowledged: central then refuses their batches (alert
batch_beyond_ack) instead of silently skipping the missing seqs. The gap is recorded as a
gap_accepted alert with the missing range. Example:
  passgate central accept-gap --central-data ./central --terminal gate-north-1 --from 5001`,
  async run(cmd, io) {
    const terminal = str(cmd, 'terminal');
    const from = optNum(cmd, 'from');
    if (from === undefined || !Number.isSafeInteger(from) || from < 1)
      throw new UsageError('--from must be a positive integer: the first seq the terminal still holds');
    const client = centralClient(cmd);
    const r = await client.request<{ before: number; after: number }>('/accept-gap', { terminal, from });
    if (io.json) io.out(JSON.stringify({ ok: true, terminal, ...r, missing: r.after - r.before }));
    else
      io.out(
        r.after === r.before
          ? `nothing to accept: central already holds ${terminal}'s events up to seq ${r.before}.`
          : `${terminal} continues from seq ${r.after + 1}; seqs ${r.before + 1}-${r.after} (${r.after - r.before} events) are recorded as lost (alert gap_accepted).`,
      );
    return 0;
  },
};

const retire: CommandSpec = {
  name: 'central retire',
  summary: 'retire a terminal id: revoke its MQTT user, keep its events; the id is not reused',
  options: {
    terminal: { type: 'string', description: 'terminal id', required: true },
    ...centralOptions,
  },
  help: `Example:
  passgate central retire --central-data ./central --terminal term-z
Its live connection is closed and it cannot log in again; its events stay in central's store.
With an external mosquitto, run \`passgate central mosquitto-config\` again and reload mosquitto.`,
  async run(cmd, io) {
    const terminal = str(cmd, 'terminal');
    const client = centralClient(cmd);
    const r = await client.request<{ retiredAt: number }>('/retire', { terminal });
    if (io.json) io.out(JSON.stringify({ ok: true, terminal, retiredAt: r.retiredAt }));
    else io.out(`retired ${terminal}: its MQTT user is revoked; its events are kept.`);
    return 0;
  },
};

export const centralCommands: CommandSpec[] = [start, status, mosquittoConfig, command, acceptGap, retire];
