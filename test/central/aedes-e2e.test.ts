// End to end on the embedded broker: central (aedes + SQLite) and real MqttSync clients over TCP.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { toHex } from '../../shared/bytes.js';
import { terminalClientId } from '../../shared/client-id.js';
import { generateKeyPair, VerifyKey, type KeyPair } from '../../shared/keys.js';
import { signBatch, topics } from '../../shared/sync.js';
import { MqttSync } from '../../terminal/adapters/mqtt-sync.js';
import { commandExists } from '../../testkit/components.js';
import { waitFor } from '../../testkit/wait.js';
import { SimPort as FakePort } from '../../testkit/sim-port.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
let dir: string;
let central: Central;

interface Term {
  port: FakePort;
  sync: MqttSync;
  key: KeyPair;
  password: string;
}

async function terminal(id: string, events: number): Promise<Term> {
  const key = generateKeyPair('EdDSA');
  const creds = await central.addTerminal(id, 'turnstile', key.publicKey);
  const port = new FakePort(id, central.listPublicKey);
  port.commit(events);
  const sync = new MqttSync(port, {
    url: central.mqttUrl,
    username: creds.username,
    password: creds.password,
    terminalKey: key,
    listKey: new VerifyKey('EdDSA', central.listPublicKey),
    logger,
    batchSize: 100,
    heartbeatMs: 200,
    ackTimeoutMs: 2000,
  });
  return { port, sync, key, password: creds.password };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-central-aedes-'));
  central = await startCentral({
    dataDir: dir,
    mqttPort: 0,
    httpPort: 0,
    logger,
    scryptCost: 10,
    beaconEveryMs: 200,
  });
});

afterAll(async () => {
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('central on aedes + SQLite', () => {
  it('drains a terminal outbox exactly once, and keeps draining new events', async () => {
    const t = await terminal('gate-1', 1234);
    t.sync.start();
    await waitFor('outbox drained', () => t.port.outbox.length === 0, 20_000);
    expect(await central.eventCount('gate-1')).toBe(1234);
    t.port.commit(10);
    await waitFor('new events drained', () => t.port.outbox.length === 0, 10_000);
    expect(await central.eventCount('gate-1')).toBe(1244);
    const back = await central.events('gate-1', 1240, 10);
    expect(back.map((e) => e.seq)).toEqual([1241, 1242, 1243, 1244]);
    // lists and beacons arrived
    await waitFor(
      'lists',
      () => t.port.store.listVersions.get('revocation') !== undefined && t.port.beacons > 0,
      5000,
    );
    // fleet state
    await waitFor(
      'online',
      async () => (await central.status()).terminals.some((x) => x.id === 'gate-1' && x.online),
      5000,
    );
    const st = await central.status();
    expect(st.terminals.find((x) => x.id === 'gate-1')).toMatchObject({ ackedSeq: 1244, clock: 'trusted' });
    await t.sync.stop();
    await waitFor(
      'offline',
      async () => (await central.status()).terminals.some((x) => x.id === 'gate-1' && !x.online),
      5000,
    );
  });

  it('publishes a revocation delta within a second, and an offline terminal catches up from snapshot + delta', async () => {
    const a = await terminal('gate-2', 0);
    a.sync.start();
    await waitFor('first lists', () => a.port.store.listVersions.get('revocation') !== undefined, 5000);
    const cti = '00112233445566778899aabbccddeeff';
    const started = Date.now();
    const version = await central.revoke(cti);
    await waitFor('revocation applied', () => a.port.store.revoked.has(cti), 5000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(a.port.store.listVersions.get('revocation')).toBe(version);
    await central.suspend('p-frozen');
    await waitFor('suspension applied', () => a.port.store.suspended.has('p-frozen'), 5000);
    await a.sync.stop();

    // a terminal that was not connected for these changes
    const late = await terminal('gate-3', 0);
    late.sync.start();
    await waitFor(
      'late terminal caught up',
      () => late.port.store.revoked.has(cti) && late.port.store.suspended.has('p-frozen'),
      5000,
    );
    expect(late.port.store.listVersions.get('revocation')).toBe(version + 1);
    await late.sync.stop();
  });

  it('falls back to MQTT 3.1.1 when the broker does not speak MQTT 5', async () => {
    const auto = await terminal('gate-5', 5);
    auto.sync.start();
    await waitFor('drained over 3.1.1', () => auto.port.outbox.length === 0, 10_000);
    expect(await central.eventCount('gate-5')).toBe(5);
    await auto.sync.stop();
  });

  it('refuses unknown clients, wrong secrets, and publishes outside a terminal’s own topics', async () => {
    const a = await terminal('gate-a', 0);
    const b = await terminal('gate-b', 0);
    const tryConnect = (username: string, password: string) =>
      new Promise<string>((resolve) => {
        const c = mqtt.connect(central.mqttUrl, {
          username,
          password,
          clientId: terminalClientId(username),
          protocolVersion: 4,
          reconnectPeriod: 0,
        });
        c.on('connect', () => {
          c.end(true);
          resolve('connected');
        });
        c.on('error', (err) => {
          c.end(true);
          resolve(err.message);
        });
      });
    expect(await tryConnect('nobody', 'x')).toMatch(/bad user ?name or password|not authorized/i);
    expect(await tryConnect('gate-a', 'wrong')).toMatch(/bad user ?name or password|not authorized/i);
    expect(await tryConnect('gate-a', a.password)).toBe('connected');

    // A forged batch on B's topic, signed with A's key and sent with A's credentials, never lands.
    const forged = signBatch(a.key, {
      terminal: 'gate-b',
      fromSeq: 1,
      events: [{ seq: 1, kind: 'tamper', at: Date.now() }],
    });
    const rogue = mqtt.connect(central.mqttUrl, {
      username: 'gate-a',
      password: a.password,
      clientId: terminalClientId('gate-a'),
      protocolVersion: 4,
    });
    await new Promise((r) => rogue.once('connect', r));
    // subscribing to another terminal's ack is refused
    const granted = await rogue.subscribeAsync(topics.ack('gate-b'), { qos: 1 }).catch(() => [{ qos: 128 }]);
    expect(granted[0]?.qos).toBe(128);
    const rogueClosed = new Promise<void>((r) => rogue.once('close', () => r()));
    rogue.publish(topics.events('gate-b'), Buffer.from(forged), { qos: 1 });
    // aedes closes a connection whose publish it refused: once closed, the publish was judged.
    await rogueClosed;
    rogue.end(true);
    if (commandExists('mosquitto_pub')) {
      const r = spawnSync(
        'mosquitto_pub',
        [
          ...['-h', '127.0.0.1', '-p', String(central.mqttPort), '-u', 'gate-a', '-P', a.password],
          ...['-i', terminalClientId('gate-a')],
          ...['-t', topics.events('gate-b'), '-q', '1', '-m', toHex(forged)],
        ],
        { timeout: 2000 },
      );
      void r; // aedes closes the connection on a refused publish; what matters is nothing lands
    }
    // Barrier, not a sleep: a genuine batch from A after the forgeries goes through the same broker, link
    // and ingest; once central has it, anything the forgeries could have caused has happened too.
    const before = await central.eventCount('gate-a');
    a.port.commit(1);
    a.sync.start();
    await waitFor(
      'a genuine batch after the forgeries',
      async () => (await central.eventCount('gate-a')) > before,
      10_000,
    );
    await a.sync.stop();
    expect(await central.eventCount('gate-b')).toBe(0);
    void b;
  });
  it('refuses a terminal under another terminal’s or central’s clientId, without kicking the holder off', async () => {
    const a = await terminal('gate-id-a', 0);
    const b = await terminal('gate-id-b', 3);
    b.sync.start();
    await waitFor('B connected and drained', () => b.sync.connected && b.port.outbox.length === 0, 10_000);
    // Count B's disconnections: a successful takeover would close B's connection (and fire its will).
    let bClosed = 0;
    (b.sync as unknown as { client: mqtt.MqttClient }).client.on('close', () => bClosed++);
    const tryAs = (clientId: string) =>
      new Promise<string>((resolve) => {
        const c = mqtt.connect(central.mqttUrl, {
          username: 'gate-id-a',
          password: a.password,
          clientId,
          protocolVersion: 4,
          reconnectPeriod: 0,
        });
        c.on('connect', () => {
          c.end(true);
          resolve('connected');
        });
        c.on('error', (err) => {
          c.end(true);
          resolve(err.message);
        });
      });
    const before = (await central.status()).terminals.find((t) => t.id === 'gate-id-b');
    expect(before?.online).toBe(true);
    for (let i = 0; i < 3; i++)
      expect(await tryAs(terminalClientId('gate-id-b'))).toMatch(/identifier rejected/i);
    expect(await tryAs('central-0')).toMatch(/identifier rejected/i);
    expect(await tryAs('')).toMatch(/identifier rejected/i);
    expect(await tryAs(terminalClientId('gate-id-a'))).toBe('connected');
    // B was never kicked off: still connected, still online, and still delivering.
    expect(bClosed).toBe(0);
    expect(b.sync.connected).toBe(true);
    b.port.commit(2);
    await waitFor('B still drains', () => b.port.outbox.length === 0, 10_000);
    expect(await central.eventCount('gate-id-b')).toBe(5);
    const after = (await central.status()).terminals.find((t) => t.id === 'gate-id-b');
    expect(after?.online).toBe(true);
    await b.sync.stop();
  });
});
