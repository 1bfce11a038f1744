// Issue 8, a compromised terminal (its MQTT secret and signing key) against central: planted events
// (item 4), quotas (item 5), one presentation at two terminals (item 6, offline), hostile status (item 7),
// enrollment codes and retirement (item 11), subscriptions (item 3), status flood (item 12).
// Real central (embedded aedes + SQLite) and real MQTT clients, in process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { printable } from '../../cli/printable.js';
import { encodeCbor, wideUint } from '../../shared/cbor.js';
import { terminalClientId } from '../../shared/client-id.js';
import type { TerminalEvent } from '../../shared/events.js';
import { generateKeyPair, VerifyKey, type KeyPair } from '../../shared/keys.js';
import { signSign1 } from '../../shared/cose.js';
import { keyId } from '../../shared/keys.js';
import { openAck, signBatch, signStatus, topics } from '../../shared/sync.js';
import { MqttSync } from '../../terminal/adapters/mqtt-sync.js';
import { waitFor as waitUntil } from '../../testkit/wait.js';
import { SimPort as FakePort } from '../../testkit/sim-port.js';

/** (check, timeout, what) order, as these tests were written; testkit's waitFor takes (what, check, timeout). */
const waitFor = (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) =>
  waitUntil(what, check, timeoutMs);

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
let dir: string;
let central: Central;
let token: string;
const clients: MqttClient[] = [];
const syncs: MqttSync[] = [];

interface Rogue {
  id: string;
  key: KeyPair;
  client: MqttClient;
  acks: number[];
}

async function rogue(id: string): Promise<Rogue> {
  const key = generateKeyPair('EdDSA');
  const creds = await central.addTerminal(id, 'turnstile', key.publicKey);
  const client = await mqtt.connectAsync(central.mqttUrl, {
    username: id,
    password: creds.password,
    clientId: terminalClientId(id),
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  clients.push(client);
  const acks: number[] = [];
  const listKey = new VerifyKey('EdDSA', central.listPublicKey);
  client.on('message', (_t, p) => {
    const a = openAck(new Uint8Array(p), listKey, id);
    if (typeof a !== 'string') acks.push(a.seq);
  });
  await client.subscribeAsync(topics.ack(id), { qos: 1 });
  return { id, key, client, acks };
}

const ev = (seq: number, extra: Partial<TerminalEvent> = {}): TerminalEvent => ({
  seq,
  kind: 'entry',
  at: 1_700_000_000_000 + seq,
  decision: 'accept',
  reason: 'ok',
  ...extra,
});

async function send(r: Rogue, events: TerminalEvent[]): Promise<void> {
  await r.client.publishAsync(
    topics.events(r.id),
    Buffer.from(signBatch(r.key, { terminal: r.id, fromSeq: events[0]!.seq, events })),
    { qos: 1 },
  );
}

/** An honest terminal (real sync client) and its decision→ack latency. */
async function honest(id: string): Promise<{ port: FakePort; latencyMs: () => Promise<number> }> {
  const key = generateKeyPair('EdDSA');
  const creds = await central.addTerminal(id, 'turnstile', key.publicKey);
  const port = new FakePort(id, central.listPublicKey);
  const sync = new MqttSync(port, {
    url: central.mqttUrl,
    username: id,
    password: creds.password,
    terminalKey: key,
    listKey: new VerifyKey('EdDSA', central.listPublicKey),
    logger,
    protocolVersion: 4,
    ackTimeoutMs: 2000,
  });
  sync.start();
  syncs.push(sync);
  await waitFor(() => sync.connected, 10_000, `${id} connected`);
  return {
    port,
    latencyMs: async () => {
      const t0 = performance.now();
      port.commit(1);
      const seq = port.nextSeq - 1;
      await waitFor(() => port.acks.some((a) => a >= seq), 20_000, `${id} ack`);
      return performance.now() - t0;
    },
  };
}

async function api(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${central.httpPort}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passgate-security-ingest-'));
  central = await startCentral({
    dataDir: dir,
    mqttPort: 0,
    httpPort: 0,
    logger,
    quotas: { eventsPerSecond: 2_000, burstEvents: 2_000 },
  });
  token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
}, 60_000);

afterAll(async () => {
  for (const s of syncs) await s.stop();
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a compromised terminal against central', () => {
  it('item 4: planted future seqs are refused; the real events are kept; conflicts are quarantined', async () => {
    const r = await rogue('term-p');
    await send(
      r,
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => ev(s)),
    );
    await waitFor(() => r.acks.includes(9), 10_000, 'ack 9');
    // the attack: signed events at future seqs 10-12 (after a gap) and at 2^53 - 10
    await send(r, [ev(11, { sub: 'planted' }), ev(12, { sub: 'planted' })]);
    await send(r, [ev(2 ** 53 - 10, { sub: 'planted' })]);
    await waitFor(async () => (await central.status()).ingest.refused >= 2, 10_000, 'refused');
    // the real terminal's 10-12 are then stored and acked
    await send(
      r,
      [10, 11, 12].map((s) => ev(s)),
    );
    await waitFor(() => r.acks.includes(12), 10_000, 'ack 12');
    const stored = await central.events('term-p', 9, 10);
    expect(stored.map((e) => [e.seq, e.sub ?? null])).toEqual([
      [10, null],
      [11, null],
      [12, null],
    ]);
    expect(await central.eventCount('term-p')).toBe(12);
    // a repeated seq with other content: both kept, alerted
    await send(r, [ev(12, { sub: 'other' })]);
    await waitFor(
      async () => (await central.status()).alerts.recent.some((a) => a.kind === 'seq_conflict'),
      10_000,
      'seq_conflict alert',
    );
    expect((await central.store.quarantined('term-p')).map((q) => q.seq)).toEqual([12]);
    const kinds = (await api('/alerts')).json.alerts as Array<{ kind: string; terminal: string }>;
    expect(kinds.filter((a) => a.terminal === 'term-p').map((a) => a.kind)).toEqual(
      expect.arrayContaining(['batch_beyond_ack', 'seq_conflict']),
    );
    // disaster recovery: only the explicit operator path moves past a gap
    await send(r, [ev(40)]);
    await waitFor(async () => (await central.status()).ingest.refused >= 3, 10_000, 'refused gap');
    const gap = await api('/accept-gap', { terminal: 'term-p', from: 40 });
    expect(gap.json).toEqual({ before: 12, after: 39 });
    await send(r, [ev(40)]);
    await waitFor(() => r.acks.includes(40), 10_000, 'ack 40');
  });

  it('item 6 (offline): one presentation recorded by two terminals raises replay_across_terminals', async () => {
    const a = await rogue('term-x');
    const b = await rogue('term-y');
    const shown = {
      cti: '00112233445566778899aabbccddeeff',
      t: 1_700_000_000,
      data: { nonce: '0102030405060708' },
    };
    await send(a, [ev(1, shown)]);
    await waitFor(() => a.acks.includes(1), 10_000, 'ack a');
    await send(b, [ev(1, shown)]);
    await waitFor(
      async () =>
        (await central.status()).alerts.recent.some(
          (x) =>
            x.kind === 'replay_across_terminals' &&
            x.terminal === 'term-y' &&
            x.detail.otherTerminal === 'term-x',
        ),
      10_000,
      'replay_across_terminals',
    );
  });

  it('item 5: a flooding terminal is dropped and throttled while an honest one keeps its latency', async () => {
    const h = await honest('term-honest');
    const base: number[] = [];
    for (let i = 0; i < 5; i++) base.push(await h.latencyMs());
    const r = await rogue('term-flood');
    let seq = 1;
    const flood = (async () => {
      for (let i = 0; i < 40; i++) {
        const events = Array.from({ length: 500 }, () => ev(seq++));
        await send(r, events);
      }
    })();
    const during: number[] = [];
    for (let i = 0; i < 5; i++) during.push(await h.latencyMs());
    await flood;
    const s = (await central.status()).ingest;
    console.log(
      `[item 5] honest decision→ack median ${median(base).toFixed(0)} ms before, ${median(during).toFixed(0)} ms during a 20,000-event flood; dropped ${s.dropped} batches, throttled ${s.throttled}; stored from the flood: ${await central.eventCount('term-flood')}`,
    );
    expect(s.dropped + s.throttled).toBeGreaterThan(0);
    expect(median(during)).toBeLessThan(Math.max(1000, median(base) * 10));
    await waitFor(
      async () => (await central.status()).alerts.recent.some((a) => a.kind === 'quota_rate'),
      10_000,
      'quota alert',
    );
  }, 120_000);

  it('item 7: unsigned or out-of-range status is refused; CLI text is stripped of control characters', async () => {
    const r = await rogue('term-s');
    const before = (await central.status()).terminals.find((t) => t.id === 'term-s');
    // unsigned, with escape sequences and lists: {trust: null}
    const hostile = encodeCbor(
      new Map<string, unknown>([
        ['state', 'online'],
        ['at', wideUint(Date.now())],
        ['role', '\u001b]0;pwned\u0007\u001b[2J'],
        ['lists', new Map([['trust', null]])],
      ]),
    );
    await r.client.publishAsync(topics.status('term-s'), Buffer.from(hostile), { qos: 1 });
    // signed, but out of range
    const signedBad = signSign1(
      'EdDSA',
      r.key.secretKey,
      encodeCbor(
        new Map<string, unknown>([
          ['terminal', 'term-s'],
          ['state', 'online'],
          ['at', 5],
          ['lists', new Map([['trust', null]])],
        ]),
      ),
      keyId(r.key.publicKey),
    );
    await r.client.publishAsync(topics.status('term-s'), Buffer.from(signedBad), { qos: 1 });
    const good = signStatus(r.key, 'term-s', { state: 'online', at: Date.now(), clock: 'trusted' });
    await r.client.publishAsync(topics.status('term-s'), Buffer.from(good), { qos: 1 });
    await waitFor(
      async () => (await central.status()).terminals.some((t) => t.id === 'term-s' && t.online),
      10_000,
      'the signed status',
    );
    expect(before?.online).toBe(false);
    const st = await central.status();
    expect(st.terminals.find((t) => t.id === 'term-s')).toMatchObject({ clock: 'trusted' });
    expect(st.terminals.find((t) => t.id === 'term-s')?.lists).toBeUndefined();
    const shown = printable('\u001b]0;pwned\u0007\u001b[2J\u202eterm-b offline\r\n');
    expect([...shown].every((ch) => ch >= ' ' && ch <= '~')).toBe(true);
  });

  it('item 12: a status flood closes the connection and most of it is never read', async () => {
    const r = await rogue('term-st');
    const fleetBefore = (await central.status()).broker.clients ?? 0;
    const msg = Buffer.from(signStatus(r.key, 'term-st', { state: 'online', at: Date.now() }));
    for (let i = 0; i < 300 && r.client.connected; i++)
      r.client.publish(topics.status('term-st'), msg, { qos: 0 });
    await waitFor(() => !r.client.connected, 10_000, 'the flooding connection closed');
    expect(fleetBefore).toBeGreaterThan(0);
  });

  it('item 3: a terminal gets only the exact filters and no persistent session', async () => {
    const r = await rogue('term-sub');
    const filters = Array.from({ length: 50 }, (_, i) => `passgate/v1/lists/x${i}/#`);
    // mqtt.js rejects a SUBACK that refuses filters (return code 128)
    await expect(r.client.subscribeAsync(filters, { qos: 1 })).rejects.toThrow(/Subscribe error/);
    const ok = await r.client.subscribeAsync([topics.lists, topics.replay, topics.ack('term-sub')], {
      qos: 1,
    });
    expect(ok.map((g) => g.qos)).toEqual([1, 1, 1]);
    // more refused filters than allowed: the connection is closed
    await r.client
      .subscribeAsync(
        Array.from({ length: 100 }, (_, i) => `passgate/v1/lists/y${i}`),
        { qos: 1 },
      )
      .catch(() => undefined);
    await waitFor(() => !r.client.connected, 10_000, 'closed after too many refused subscriptions');
    // a persistent session is not granted to a terminal
    const key = generateKeyPair('EdDSA');
    const creds = await central.addTerminal('term-session', 'turnstile', key.publicKey);
    const opts = {
      username: 'term-session',
      password: creds.password,
      clientId: terminalClientId('term-session'),
      protocolVersion: 4 as const,
      clean: false,
      reconnectPeriod: 0,
    };
    const c1 = await mqtt.connectAsync(central.mqttUrl, opts);
    await c1.subscribeAsync(topics.time, { qos: 1 });
    await c1.endAsync();
    const c2 = await mqtt.connectAsync(central.mqttUrl, opts);
    clients.push(c2);
    const sessionPresent = await new Promise<boolean>((resolve) => {
      const packet = (c2 as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket;
      resolve(packet?.sessionPresent ?? false);
    });
    expect(sessionPresent).toBe(false);
  });

  it('item 11: codes only for valid ids and roles; retire revokes the MQTT user and keeps the events', async () => {
    for (const body of [
      { terminal: 'term-z', role: 'admin' },
      { terminal: 'central', role: 'turnstile' },
      { terminal: 'Bad/Id', role: 'turnstile' },
    ])
      expect((await api('/enroll-codes', body)).status).toBe(400);
    expect((await api('/enroll-codes', { terminal: 'term-z', role: 'kiosk' })).status).toBe(200);

    const r = await rogue('term-r');
    await send(r, [ev(1), ev(2)]);
    await waitFor(() => r.acks.includes(2), 10_000, 'ack');
    expect((await api('/retire', { terminal: 'term-r' })).status).toBe(200);
    await waitFor(() => !r.client.connected, 10_000, 'its connection closed');
    expect(await central.eventCount('term-r')).toBe(2);
    const key = generateKeyPair('EdDSA');
    await expect(central.addTerminal('term-r', 'turnstile', key.publicKey)).rejects.toThrow(/retired/);
  });
});
