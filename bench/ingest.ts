// `npm run bench -- ingest`: raw broker QoS 1 throughput (mqtt.js → mqtt.js, no passgate code) against
// passgate end to end (simulated terminals → signed batches → committed at central → acked), on
// aedes + SQLite and on mosquitto + PostgreSQL with 1 and 2 central workers; then 1,000 concurrent
// terminals with heartbeats on one central (its RSS and CPU).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import { startCentral, type Central } from '../central/index.js';
import { writeMosquittoConfig } from '../central/mosquitto-config.js';
import { PostgresCentralStore } from '../central/store/postgres.js';
import { fromHex } from '../shared/bytes.js';
import { generateKeyPair, VerifyKey } from '../shared/keys.js';
import { signBatch } from '../shared/sync.js';
import { MqttSync } from '../terminal/adapters/mqtt-sync.js';
import { commandExists, freePort } from '../testkit/components.js';
import { waitFor } from '../testkit/wait.js';
import { mosquittoBinary, startMosquitto } from '../testkit/mosquitto.js';
import { postgresBinDir, startPostgres } from '../testkit/postgres.js';
import { SimPort } from '../testkit/sim-port.js';
import { printTable, writeResult } from './harness.js';

const logger = pino({ level: 'silent' });
const TERMINALS = 20;
const BENCH_QUOTAS = { eventsPerSecond: 1e9, burstEvents: 1e9, eventsPerDay: 1e12 };
const EVENTS_PER_TERMINAL = 5000;
const BATCH = 500;

interface Pair {
  config: string;
  /** Raw broker rate carrying the same signed 500-event payloads: bytes-equivalent baseline. */
  rawEventsPerSec: number;
  /** Raw broker rate with one small message per event (QoS 1 messages/s). */
  rawMessagesPerSec: number;
  endToEndEventsPerSec: number;
  ratio: number;
  ratioPerMessage: number;
}

const RAW_SINGLE_MESSAGES = 20_000;

/** Same payloads as passgate sends (signed batches of BATCH events), QoS 1 both ways, as fast as the broker takes them. */
async function rawThroughput(
  url: string,
  auth: { username?: string; password?: string },
  protocolVersion: 4 | 5,
  eventsPerMessage = BATCH,
): Promise<number> {
  const key = generateKeyPair('EdDSA');
  const port = new SimPort('raw', key.publicKey);
  port.commit(eventsPerMessage);
  const payload = Buffer.from(signBatch(key, { terminal: 'raw', fromSeq: 1, events: port.outbox }));
  const messages =
    eventsPerMessage === 1 ? RAW_SINGLE_MESSAGES : (TERMINALS * EVENTS_PER_TERMINAL) / eventsPerMessage;
  const topic = 'passgate/v1/bench/raw';
  const sub = await mqtt.connectAsync(url, { ...auth, protocolVersion, clientId: `raw-sub-${Date.now()}` });
  await sub.subscribeAsync(topic, { qos: 1 });
  let got = 0;
  const done = new Promise<void>((r) => sub.on('message', () => ++got === messages && r()));
  const pubs = await Promise.all(
    Array.from({ length: TERMINALS }, (_, i) =>
      mqtt.connectAsync(url, { ...auth, protocolVersion, clientId: `raw-pub-${i}-${Date.now()}` }),
    ),
  );
  const t0 = performance.now();
  await Promise.all(
    pubs.map(async (p) => {
      const sends = [];
      for (let i = 0; i < messages / TERMINALS; i++) sends.push(p.publishAsync(topic, payload, { qos: 1 }));
      await Promise.all(sends);
    }),
  );
  await done;
  const secs = (performance.now() - t0) / 1000;
  await Promise.all([...pubs, sub].map((c) => c.endAsync(true)));
  return (messages * eventsPerMessage) / secs;
}

function pair(config: string, raw: number, rawMessages: number, e2e: number): Pair {
  return {
    config,
    rawEventsPerSec: raw,
    rawMessagesPerSec: rawMessages,
    endToEndEventsPerSec: e2e,
    ratio: e2e / raw,
    ratioPerMessage: e2e / rawMessages,
  };
}

/** Simulated terminals drain their outboxes into central; done when every event is committed and acked. */
async function endToEnd(
  workers: Central[],
  url: string,
  prefix: string,
): Promise<(reconfigure?: () => Promise<void>) => Promise<number>> {
  const main = workers[0]!;
  const terms: {
    id: string;
    key: ReturnType<typeof generateKeyPair>;
    creds: { username: string; password: string };
    port: SimPort;
  }[] = [];
  for (let i = 0; i < TERMINALS; i++) {
    const key = generateKeyPair('EdDSA');
    const id = `${prefix}-${i}`;
    const creds = await main.addTerminal(id, 'turnstile', key.publicKey);
    const port = new SimPort(id, main.listPublicKey);
    port.commit(EVENTS_PER_TERMINAL);
    terms.push({ id, key, creds, port });
  }
  return async function run(reconfigure?: () => Promise<void>): Promise<number> {
    if (reconfigure) await reconfigure();
    const syncs = terms.map(
      (t) =>
        new MqttSync(t.port, {
          url,
          username: t.creds.username,
          password: t.creds.password,
          terminalKey: t.key,
          listKey: new VerifyKey('EdDSA', main.listPublicKey),
          logger,
          batchSize: BATCH,
          heartbeatMs: 30_000,
        }),
    );
    const t0 = performance.now();
    for (const s of syncs) s.start();
    await waitFor('terminals drained', () => terms.every((t) => t.port.outbox.length === 0), 120_000);
    const secs = (performance.now() - t0) / 1000;
    await Promise.all(syncs.map((s) => s.stop()));
    const stored = await main.eventCount();
    if (stored < TERMINALS * EVENTS_PER_TERMINAL) throw new Error(`only ${stored} events at central`);
    return (TERMINALS * EVENTS_PER_TERMINAL) / secs;
  };
}

async function aedesSqlite(dir: string): Promise<Pair> {
  // raw: a bare aedes (no auth hooks, no passgate code) on its own port
  const bare = await Aedes.createBroker();
  const server = createServer(bare.handle);
  const rawPort = await freePort();
  await new Promise<void>((r) => server.listen(rawPort, '127.0.0.1', () => r()));
  const raw = await rawThroughput(`mqtt://127.0.0.1:${rawPort}`, {}, 4);
  const rawMessages = await rawThroughput(`mqtt://127.0.0.1:${rawPort}`, {}, 4, 1);
  await new Promise<void>((r) => bare.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
  const central = await startCentral({
    dataDir: join(dir, 'aedes'),
    mqttPort: 0,
    httpPort: -1,
    logger,
    scryptCost: 10,
    beaconEveryMs: 0,
    // The bench measures raw ingest capacity: per-terminal quotas (docs/security.md) out of the way.
    quotas: BENCH_QUOTAS,
  });
  try {
    const run = await endToEnd([central], central.mqttUrl, 'a');
    const e2e = await run();
    return pair('aedes + SQLite', raw, rawMessages, e2e);
  } finally {
    await central.stop();
  }
}

async function mosquittoPostgres(dir: string, workerCount: number): Promise<Pair> {
  const pgc = await startPostgres();
  if (!pgc) throw new Error('PostgreSQL missing');
  const db = pgc.createDatabase('bench');
  const store = new PostgresCentralStore(db, 2);
  await store.init();
  const confDir = join(dir, `mosq-${workerCount}`);
  let files = await writeMosquittoConfig(store, confDir);
  const broker = await startMosquitto({ passwordFile: files.passwordFile, aclFile: files.aclFile });
  const workers: Central[] = [];
  try {
    const url = files.centralUrl(`127.0.0.1:${broker.port}`);
    const u = new URL(url);
    const rawAuth = { username: 'central', password: decodeURIComponent(u.password) };
    const raw = await rawThroughput(broker.url, rawAuth, 5);
    const rawMessages = await rawThroughput(broker.url, rawAuth, 5, 1);
    const listKey = generateKeyPair('EdDSA');
    for (let w = 0; w < workerCount; w++)
      workers.push(
        await startCentral({
          dataDir: join(dir, `pg-${workerCount}-${w}`),
          broker: url,
          db,
          httpPort: -1,
          logger,
          scryptCost: 10,
          beaconEveryMs: 0,
          listKey,
          workerId: `w${w}`,
          quotas: BENCH_QUOTAS,
          publishLists: w === 0,
        }),
      );
    const run = await endToEnd(workers, broker.url, `m${workerCount}`);
    const e2e = await run(async () => {
      files = await writeMosquittoConfig(store, confDir);
      await broker.reload();
    });
    return pair(
      `mosquitto + PostgreSQL, ${workerCount} worker${workerCount > 1 ? 's' : ''}`,
      raw,
      rawMessages,
      e2e,
    );
  } finally {
    for (const w of workers) await w.stop();
    await store.close();
    await broker.stop();
    await pgc.stop();
  }
}

function procStats(pid: number): { cpuTicks: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuTicks, rssMiB: Number(rss?.[1] ?? 0) / 1024 };
}

async function thousandTerminals(dir: string, count = 1000): Promise<object> {
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const bin = fileURLToPath(new URL('../../bin/passgate.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      bin,
      'central',
      'start',
      '--data',
      join(dir, 'fleet'),
      '--mqtt-port',
      String(mqttPort),
      '--http-port',
      String(httpPort),
      '--scrypt-cost',
      '10',
    ],
    { stdio: 'ignore' },
  );
  const syncs: MqttSync[] = [];
  try {
    const api = `http://127.0.0.1:${httpPort}`;
    await waitFor(
      'central child',
      async () => (await fetch(`${api}/healthz`).catch(() => undefined))?.ok === true,
      20_000,
    );
    const headers = {
      authorization: `Bearer ${readFileSync(join(dir, 'fleet', 'admin.token'), 'utf8').trim()}`,
    };
    // The child central made its list key in its data folder: the terminals verify its acks with it.
    const fleetListKey = new VerifyKey(
      'EdDSA',
      fromHex(
        (JSON.parse(readFileSync(join(dir, 'fleet', 'list-key.json'), 'utf8')) as { publicKey: string })
          .publicKey,
      ),
    );
    const ports: SimPort[] = [];
    for (let i = 0; i < count; i++) {
      const key = generateKeyPair('EdDSA');
      const id = `fleet-${i}`;
      const res = await fetch(`${api}/terminals`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          id,
          role: 'turnstile',
          publicKey: Buffer.from(key.publicKey).toString('hex'),
        }),
      });
      const creds = (await res.json()) as { username: string; password: string };
      const port = new SimPort(id, new Uint8Array(32));
      port.commit(5);
      ports.push(port);
      syncs.push(
        new MqttSync(port, {
          url: `mqtt://127.0.0.1:${mqttPort}`,
          username: creds.username,
          password: creds.password,
          terminalKey: key,
          listKey: fleetListKey,
          logger,
          heartbeatMs: 5000,
          protocolVersion: 4,
        }),
      );
    }
    const t0 = performance.now();
    for (const s of syncs) s.start();
    await waitFor(
      '1,000 terminals connected and drained',
      () => syncs.every((s) => s.connected) && ports.every((p) => p.outbox.length === 0),
      90_000,
    );
    const connectSecs = (performance.now() - t0) / 1000;
    // steady state with heartbeats: sample central's CPU over 10 s
    const a = procStats(child.pid!);
    await new Promise((r) => setTimeout(r, 10_000));
    const b = procStats(child.pid!);
    const status = (await (await fetch(`${api}/status`, { headers })).json()) as {
      online: number;
      broker: { clients?: number };
    };
    return {
      terminals: count,
      connectedAndDrainedSeconds: connectSecs,
      brokerClients: status.broker.clients,
      reportedOnline: status.online,
      centralRssMiB: b.rssMiB,
      centralCpuPercent: ((b.cpuTicks - a.cpuTicks) / 100 / 10) * 100,
    };
  } finally {
    await Promise.all(syncs.map((s) => s.stop()));
    child.kill('SIGTERM');
  }
}

export async function runIngestBench(opts: { json: boolean }): Promise<object> {
  const dir = mkdtempSync(join(tmpdir(), 'passgate-bench-ingest-'));
  const say = (t: string) => {
    if (!opts.json) console.log(t);
  };
  const pairs: Pair[] = [];
  const notes: string[] = [];
  try {
    say(`ingest: ${TERMINALS} terminals × ${EVENTS_PER_TERMINAL} events, batches of ${BATCH}, QoS 1`);
    pairs.push(await aedesSqlite(dir));
    if (mosquittoBinary() && commandExists('mosquitto_passwd') && postgresBinDir()) {
      pairs.push(await mosquittoPostgres(dir, 1));
      pairs.push(await mosquittoPostgres(dir, 2));
    } else
      notes.push(
        'mosquitto or PostgreSQL missing: scale-out rows skipped (node scripts/system-deps.mjs installs them)',
      );
    if (!opts.json)
      printTable(
        'Ingest: raw broker QoS 1 vs passgate end to end (committed at central and acked)',
        [
          'setup',
          'raw msgs/s (1 event each)',
          'raw events/s (same 500-event payloads)',
          'end-to-end events/s',
          'ratio vs msgs',
          'ratio vs payloads',
        ],
        pairs.map((p) => [
          p.config,
          p.rawMessagesPerSec,
          p.rawEventsPerSec,
          p.endToEndEventsPerSec,
          p.ratioPerMessage,
          p.ratio,
        ]),
      );
    const fleet = await thousandTerminals(dir);
    say(`  1,000 terminals on one central (aedes + SQLite): ${JSON.stringify(fleet)}`);
    const result = {
      bench: 'ingest',
      terminals: TERMINALS,
      eventsPerTerminal: EVENTS_PER_TERMINAL,
      batch: BATCH,
      pairs,
      fleet,
      notes,
    };
    const path = writeResult('ingest', result);
    if (opts.json) console.log(JSON.stringify(result));
    else console.log(`results written to ${path}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
