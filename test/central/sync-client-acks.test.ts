// The terminal sync client against a scripted "central" on a plain aedes: acks below what the terminal
// already had acked (central restored from a backup) must not cause an immediate resend loop, and no
// batch goes out before the ack subscription is confirmed (no second batch in flight after a reconnect);
// an ack not signed by the pinned list key (another key, the old unsigned form) is ignored.
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../../shared/cbor.js';
import { parseSign1 } from '../../shared/cose.js';
import { generateKeyPair, VerifyKey, type KeyPair } from '../../shared/keys.js';
import { BATCH_LIMITS, signAck, topics } from '../../shared/sync.js';
import { MqttSync } from '../../terminal/adapters/mqtt-sync.js';
import { waitFor } from '../../testkit/wait.js';
import { SimPort as FakePort } from '../../testkit/sim-port.js';

interface Scripted {
  url: string;
  /** Event batches central has received. */
  batches: number;
  /** from_seq of every batch received, in order. */
  fromSeqs: number[];
  /** Hook order: 'sub:<topic>' when a subscription is authorised, 'pub:events' when a batch arrives. */
  order: string[];
  central: MqttClient;
  /** Publishes an ack signed by the list key (or by `key`, for a forgery). */
  ack(terminal: string, seq: number, key?: KeyPair): Promise<void>;
  close(): Promise<void>;
}

const listKey = generateKeyPair('EdDSA');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function scriptedCentral(opts: { subscribeDelayMs?: number } = {}): Promise<Scripted> {
  const order: string[] = [];
  const aedes = await Aedes.createBroker({
    authorizeSubscribe: (_client, sub, done) => {
      setTimeout(() => {
        order.push(`sub:${sub.topic}`);
        done(null, sub);
      }, opts.subscribeDelayMs ?? 0);
    },
  });
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const url = `mqtt://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const central = await mqtt.connectAsync(url, { clientId: 'central-test', protocolVersion: 4 });
  const s: Scripted = {
    url,
    batches: 0,
    fromSeqs: [],
    order,
    central,
    ack: async (terminal, seq, key = listKey) => {
      const ack = signAck(key, { terminal, seq, t: Date.now() });
      await central.publishAsync(topics.ack(terminal), Buffer.from(ack), { qos: 1 });
    },
    close: async () => {
      await central.endAsync(true);
      await new Promise<void>((r) => aedes.close(() => r()));
      (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  await central.subscribeAsync(topics.allEvents, { qos: 1 });
  central.on('message', (_topic, payload) => {
    s.batches++;
    const body = decodeCbor(parseSign1(new Uint8Array(payload), BATCH_LIMITS).payload, BATCH_LIMITS);
    s.fromSeqs.push(Number((body as Map<string, unknown>).get('from_seq')));
    order.push('pub:events');
  });
  cleanups.push(() => s.close());
  return s;
}

function captureLogs(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as { level: number; msg: string });
      cb();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

function syncFor(port: FakePort, url: string, logger: pino.Logger, ackTimeoutMs: number): MqttSync {
  const sync = new MqttSync(port, {
    url,
    username: port.terminalId,
    password: 'x',
    terminalKey: generateKeyPair('EdDSA'),
    listKey: new VerifyKey('EdDSA', listKey.publicKey),
    logger,
    protocolVersion: 4,
    batchSize: 5,
    heartbeatMs: 60_000,
    ackTimeoutMs,
  });
  cleanups.push(() => sync.stop());
  return sync;
}

describe('MqttSync acks', () => {
  it('an ack below what the terminal already had acked is logged and not answered by an immediate resend', async () => {
    const c = await scriptedCentral();
    const { logger, lines } = captureLogs();
    const port = new FakePort('gate-lost', generateKeyPair('EdDSA').publicKey);
    port.commit(10);
    const sync = syncFor(port, c.url, logger, 60_000);
    // A well-behaved central first: ack each batch as it lands.
    const ackEach = () => void c.ack('gate-lost', c.batches * 5);
    c.central.on('message', ackEach);
    sync.start();
    await waitFor('first 10 acked', () => sync.ackedSeq === 10 && port.outbox.length === 0, 10_000);
    c.central.off('message', ackEach);

    // Central comes back from a backup holding only seq 1..3; the terminal sends 11..15.
    const before = c.batches;
    port.commit(5);
    await waitFor('batch 11..15', () => c.batches === before + 1, 10_000);
    await c.ack('gate-lost', 3);
    await waitFor(
      'the error log',
      () => lines.some((l) => l.level === 50 && /central lost events/.test(l.msg)),
      10_000,
    );
    // Give a hot loop the chance to show: several more acks of 3, each of which the old code answered
    // at once with a resend.
    for (let i = 0; i < 5; i++) await c.ack('gate-lost', 3);
    expect(sync.ackedSeq).toBe(10);
    expect(port.acks).not.toContain(3);
    // Barrier, not a sleep: one more event, then a genuine ack of 15 makes the client send batch 16. The
    // connection keeps order, so a resend caused by the acks of 3 would reach central before it.
    port.commit(1);
    await c.ack('gate-lost', 15);
    await waitFor('batch 16', () => c.fromSeqs.includes(16), 10_000);
    expect(c.fromSeqs.slice(-(c.batches - before))).toEqual([11, 16]);
    expect(port.outbox.map((e) => e.seq)).toEqual([16]);
  });

  it('sends nothing before the ack subscription is confirmed, and then exactly one batch in flight', async () => {
    const c = await scriptedCentral({ subscribeDelayMs: 400 });
    const { logger } = captureLogs();
    const port = new FakePort('gate-slow-suback', generateKeyPair('EdDSA').publicKey);
    const sync = syncFor(port, c.url, logger, 60_000);
    sync.start();
    await waitFor('connected', () => sync.connected, 10_000);
    // Events committed while the SUBACK is still pending.
    port.commit(5);
    await waitFor('the first batch', () => c.batches >= 1, 10_000);
    // Barrier, not a sleep: ack it with one more event waiting; the next batch (6) comes after anything
    // the client sent before the ack, so a second batch in flight would show up before it.
    port.commit(1);
    await c.ack('gate-slow-suback', 5);
    await waitFor('batch 6', () => c.fromSeqs.includes(6), 10_000);
    expect(c.fromSeqs).toEqual([1, 6]);
    const firstBatch = c.order.indexOf('pub:events');
    expect(firstBatch).toBeGreaterThan(c.order.indexOf(`sub:${topics.ack('gate-slow-suback')}`));
    expect(c.order.indexOf(`sub:${topics.ack('gate-slow-suback')}`)).toBeGreaterThanOrEqual(0);
    await c.ack('gate-slow-suback', 6);
    await waitFor('acked', () => port.outbox.length === 0, 10_000);
  });

  it('an ack signed by another key, or in the old unsigned form, is ignored: the outbox is kept', async () => {
    const c = await scriptedCentral();
    const { logger, lines } = captureLogs();
    const port = new FakePort('gate-forged-ack', listKey.publicKey);
    const sync = syncFor(port, c.url, logger, 60_000);
    sync.start();
    port.commit(5);
    await waitFor('the first batch', () => c.batches === 1, 10_000);
    // Forgeries published on the bare broker (the real broker's ACL keeps terminals off ack topics).
    await c.ack('gate-forged-ack', 5, generateKeyPair('EdDSA'));
    await c.central.publishAsync(
      topics.ack('gate-forged-ack'),
      Buffer.from(encodeCbor(new Map([['seq', 5]]))),
      { qos: 1 },
    );
    // A genuine ack for another terminal, replayed onto this terminal's topic.
    const other = signAck(listKey, { terminal: 'gate-other', seq: 5, t: Date.now() });
    await c.central.publishAsync(topics.ack('gate-forged-ack'), Buffer.from(other), { qos: 1 });
    await waitFor(
      'three refused acks logged',
      () => lines.filter((l) => l.level === 40 && /ack that does not verify/.test(l.msg)).length === 3,
      10_000,
    );
    expect(sync.ackedSeq).toBe(0);
    expect(port.acks).toEqual([]);
    expect(port.outbox.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    // The genuine ack still works.
    await c.ack('gate-forged-ack', 5);
    await waitFor('acked by the genuine ack', () => port.outbox.length === 0, 10_000);
  });
});
