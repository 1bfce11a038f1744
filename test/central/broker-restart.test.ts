// A mosquitto restart must not leave terminals without lists (issue 13 item 2): the generated mosquitto
// settings keep retained messages across a restart, and central republishes every list and a beacon
// whenever it reconnects, so even a broker that lost them (killed before its autosave, persistence off)
// serves them again within seconds. Real mosquitto, central on it with SQLite, a real sync client.
import { CENTRAL_LISTS } from '../../central/lists.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { writeMosquittoConfig, type MosquittoConfigFiles } from '../../central/mosquitto-config.js';
import { SqliteCentralStore } from '../../central/store/sqlite.js';
import { generateKeyPair, VerifyKey } from '../../shared/keys.js';
import { topics } from '../../shared/sync.js';
import { MqttSync } from '../../terminal/adapters/mqtt-sync.js';
import { waitFor } from '../../testkit/wait.js';
import { haveMosquitto, startMosquitto, type MosquittoBroker } from '../../testkit/mosquitto.js';
import { SimPort as FakePort } from '../../testkit/sim-port.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const ready = haveMosquitto();
let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-broker-restart-'));
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function configFor(name: string): Promise<{ files: MosquittoConfigFiles; store: SqliteCentralStore }> {
  const store = new SqliteCentralStore(join(dir, `${name}.db`));
  await store.init();
  cleanups.push(() => store.close());
  return { files: await writeMosquittoConfig(store, join(dir, name)), store };
}

/** The retained messages a fresh subscriber gets on `filter` (waits `settleMs` after the SUBACK). */
async function retained(url: string, username: string, password: string, filter: string): Promise<string[]> {
  const c = await mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, clean: true });
  const got: string[] = [];
  c.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) got.push(topic);
  });
  await c.subscribeAsync(filter, { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  await c.endAsync(true);
  return got.sort();
}

describe.skipIf(!ready)('mosquitto restarts', () => {
  it('the generated settings keep retained messages across a broker restart (persistence)', async () => {
    const { files } = await configFor('persist');
    const broker = await startMosquitto({ ...files, includeDir: join(dir, 'persist') });
    cleanups.push(() => broker.stop());
    const u = new URL(files.centralUrl(`127.0.0.1:${broker.port}`));
    const [user, pass] = [u.username, decodeURIComponent(u.password)];
    const pub = await mqtt.connectAsync(broker.url, { username: user, password: pass, reconnectPeriod: 0 });
    await pub.publishAsync(topics.listSnapshot('trust'), Buffer.from('x'), { qos: 1, retain: true });
    await pub.endAsync();
    await broker.restart();
    expect(await retained(broker.url, user, pass, 'passgate/v1/lists/#')).toEqual([
      topics.listSnapshot('trust'),
    ]);
  }, 30_000);

  it('central republishes every list after the broker lost them: a terminal enrolled right after the restart gets its trust list', async () => {
    const { files } = await configFor('republish');
    // The helper's own settings: persistence off, so a restart loses every retained message.
    const broker: MosquittoBroker = await startMosquitto(files);
    cleanups.push(() => broker.stop());
    const central: Central = await startCentral({
      dataDir: join(dir, 'central'),
      broker: files.centralUrl(`127.0.0.1:${broker.port}`),
      httpPort: -1,
      logger,
      scryptCost: 10,
      beaconEveryMs: 60_000,
    });
    cleanups.push(async () => {
      await central.stop();
    });
    const u = new URL(files.centralUrl(`127.0.0.1:${broker.port}`));
    const [user, pass] = [u.username, decodeURIComponent(u.password)];
    await central.trustIssuerKey({
      alg: 'EdDSA',
      publicKey: generateKeyPair('EdDSA').publicKey,
      issuer: 'city',
    });
    await waitFor(
      'a retained snapshot of every list before the restart',
      async () =>
        (await retained(broker.url, user, pass, 'passgate/v1/lists/+/snapshot')).length ===
        CENTRAL_LISTS.length,
      10_000,
    );

    await broker.restart({ kill: true });
    const restartedAt = Date.now();
    const key = generateKeyPair('EdDSA');
    const creds = await central.addTerminal('late-gate', 'turnstile', key.publicKey);
    // The same folder (so the same central secret), now with the new terminal's hash from central's store.
    await writeMosquittoConfig(central.store, join(dir, 'republish'));
    await broker.reload();
    const port = new FakePort('late-gate', central.listPublicKey);
    const sync = new MqttSync(port, {
      url: broker.url,
      username: creds.username,
      password: creds.password,
      terminalKey: key,
      listKey: new VerifyKey('EdDSA', central.listPublicKey),
      logger,
      heartbeatMs: 60_000,
    });
    sync.start();
    try {
      await waitFor(
        'the trust and revocation lists at a terminal enrolled after the broker restart',
        () =>
          (port.store.listVersions.get('trust') ?? 0) >= 2 &&
          (port.store.listVersions.get('revocation') ?? 0) >= 1,
        15_000,
      );
      const seconds = (Date.now() - restartedAt) / 1000;
      console.info(`lists at the new terminal ${seconds.toFixed(1)} s after the broker restart`);
    } finally {
      await sync.stop();
    }
  }, 60_000);
});
