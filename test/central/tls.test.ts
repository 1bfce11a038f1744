// MQTT over TLS on the embedded broker: a self-signed certificate made with openssl, an mqtts:// client
// that trusts it gets a signed batch acked; plain mqtt:// to the same port does not connect.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { generateKeyPair, VerifyKey } from '../../shared/keys.js';
import { terminalClientId } from '../../shared/client-id.js';
import { openAck, signBatch, topics } from '../../shared/sync.js';
import { requireComponent } from '../../testkit/components.js';
import { bootTerminal, enrollTerminal, waitForPublishedLists } from '../../testkit/fleet.js';
import { waitFor } from '../../testkit/wait.js';

const OPENSSL = '/usr/bin/openssl';
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const present = requireComponent('openssl', existsSync(OPENSSL), 'apt-get install openssl');
let dir: string;
let central: Central;
let ca: Buffer;

beforeAll(async () => {
  if (!present) return;
  dir = mkdtempSync(join(tmpdir(), 'passgate-central-tls-'));
  execFileSync(
    OPENSSL,
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-days', '1', '-subj', '/CN=localhost'],
      ...['-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')],
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(join(dir, 'c.pem'));
  central = await startCentral({
    dataDir: dir,
    mqttPort: 0,
    httpPort: -1,
    logger,
    scryptCost: 10,
    tls: { certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem') },
  });
});

afterAll(async () => {
  await central?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!present)('MQTT over TLS (embedded broker)', () => {
  it('announces mqtts:// and acks a batch from a client that trusts the certificate', async () => {
    expect(central.mqttUrl).toMatch(/^mqtts:\/\//);
    const key = generateKeyPair('EdDSA');
    const creds = await central.addTerminal('gate-tls', 'turnstile', key.publicKey);
    const client = mqtt.connect(`mqtts://localhost:${central.mqttPort}`, {
      ca,
      username: creds.username,
      password: creds.password,
      clientId: terminalClientId(creds.username),
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      const acked = new Promise<number | string>((resolve) =>
        client.on('message', (topic, payload) => {
          if (topic !== topics.ack('gate-tls')) return;
          const ack = openAck(payload, new VerifyKey('EdDSA', central.listPublicKey), 'gate-tls');
          // Acks are retained: the one for seq 0 from the registration arrives on subscribing.
          if (typeof ack !== 'string' && ack.seq === 0) return;
          resolve(typeof ack === 'string' ? ack : ack.seq);
        }),
      );
      await client.subscribeAsync(topics.ack('gate-tls'), { qos: 1 });
      const now = Date.now();
      const batch = signBatch(key, {
        terminal: 'gate-tls',
        fromSeq: 1,
        events: [1, 2, 3].map((seq) => ({ seq, kind: 'entry' as const, at: now + seq })),
      });
      await client.publishAsync(topics.events('gate-tls'), Buffer.from(batch), { qos: 1 });
      expect(await acked).toBe(3);
      expect(await central.eventCount('gate-tls')).toBe(3);
    } finally {
      await client.endAsync(true);
    }
  });

  it('does not let a plain mqtt:// connection in', async () => {
    const creds = await central.addTerminal('gate-plain', 'turnstile', generateKeyPair('EdDSA').publicKey);
    const client = mqtt.connect(`mqtt://127.0.0.1:${central.mqttPort}`, {
      username: creds.username,
      password: creds.password,
      clientId: terminalClientId(creds.username),
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (err) => resolve(`error: ${err.message}`));
      client.once('close', () => resolve('closed'));
    });
    await client.endAsync(true);
    expect(outcome).not.toBe('connected');
  });
  it('lets a real terminal daemon with mqtt.caFile connect over TLS and deliver its events', async () => {
    const configFile = await enrollTerminal(central, dir, {
      id: 'gate-tls-daemon',
      role: 'turnstile',
      gate: 'north',
      requirement: { k: 'venue' },
      label: 'tls gate',
    });
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as { mqtt: Record<string, string> };
    config.mqtt.url = `mqtts://localhost:${central.mqttPort}`;
    config.mqtt.caFile = join(dir, 'c.pem');
    writeFileSync(configFile, JSON.stringify(config));
    const terminal = await bootTerminal(configFile, logger, true);
    try {
      await waitForPublishedLists(central, [terminal]);
      const r = await terminal.submit('PG1:not-a-code');
      expect(r).toMatchObject({ decision: 'deny', reason: 'malformed' });
      const lastSeq = terminal.report().lastSeq;
      await waitFor(
        'events at central',
        async () => (await central.eventCount('gate-tls-daemon')) === lastSeq,
      );
    } finally {
      await terminal.stop();
    }
  });
});
