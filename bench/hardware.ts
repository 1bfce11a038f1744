// Hardware benchmark through real components: pcscd + vpcd's virtual reader + a virtual card, a real
// daemon process, and a relay board on a socat pty. Measures (1) card put on the reader → decision →
// relay "open" bytes on the pty, p50/p99; (2) QR decision latency over TCP with the PC/SC input
// configured and active vs not configured, in the same run: the cost of hosting PC/SC in a watched child
// process (goal < 10 % on p99). Needs root (pcscd), vsmartcard-vpcd, socat and the nfc-pcsc binding.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../shared/bytes.js';
import { cardHash, encodeCardSnapshot } from '../shared/cards.js';
import { createPresentation, issueCredential, newSerial, toQrText } from '../shared/credential.js';
import { generateKeyPair, keyId, VerifyKey } from '../shared/keys.js';
import { signList } from '../shared/lists.js';
import { validateConfig } from '../terminal/config.js';
import { writeSigningKey } from '../terminal/keys.js';
import { applySignedListBytes } from '../terminal/lists.js';
import { SqliteStore } from '../terminal/store/sqlite.js';
import { dbPath } from '../terminal/config.js';
import {
  closePeer,
  openPeer,
  Pcscd,
  pcscComponentsPresent,
  pcscdRunningElsewhere,
  PtyPair,
  socatPresent,
  VirtualCard,
} from '../testkit/hardware.js';
import { startPassgate, stopPassgate } from '../testkit/passgate-process.js';
import { waitFor } from '../testkit/wait.js';
import { percentile, printTable, writeResult } from './harness.js';

const TAPS = Number(process.env.PASSGATE_BENCH_TAPS ?? 40);
const QR = Number(process.env.PASSGATE_BENCH_QR ?? 1500);
const READER = 'Virtual PCD 00 00';
const ON = Buffer.from([0xa0, 0x01, 0x01, 0xa2]);

interface Running {
  proc: ChildProcess;
  tcpPort: number;
  httpPort: number;
}

async function startDaemon(configFile: string): Promise<Running> {
  const { proc, ready } = await startPassgate<{ tcpPort: number; httpPort: number }>([
    'terminal',
    'start',
    '--config',
    configFile,
  ]);
  return { proc, ...ready };
}

const stopDaemon = (d: Running) => stopPassgate(d.proc);

/** One line at a time over TCP: the latency of each answered decision, in ms. */
async function qrLatencies(port: number, codes: string[]): Promise<number[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay(true);
  socket.setEncoding('utf8');
  let buf = '';
  let waiting: ((line: string) => void) | undefined;
  socket.on('data', (d: string) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl !== -1 && waiting) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiting;
      waiting = undefined;
      w(line);
    }
  });
  const out: number[] = [];
  for (const code of codes) {
    const t0 = performance.now();
    const line = await new Promise<string>((r) => {
      waiting = r;
      socket.write(code + '\n');
    });
    out.push(performance.now() - t0);
    if (!line.includes('"decision":"accept"')) throw new Error(`unexpected answer ${line}`);
  }
  socket.destroy();
  return out;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: +percentile(s, 50).toFixed(3),
    p99: +percentile(s, 99).toFixed(3),
    max: +s.at(-1)!.toFixed(3),
  };
};

export async function runHardwareBench(opts: { json: boolean }): Promise<object> {
  const log = (s: string) => {
    if (!opts.json) process.stderr.write(s + '\n');
  };
  if (!pcscComponentsPresent() || !socatPresent()) {
    console.log('bench hardware: SKIPPED (see the warnings above for what is missing)');
    return { skipped: true };
  }
  if (pcscdRunningElsewhere())
    throw new Error('a pcscd is already running: stop it, the bench starts its own');
  const dir = mkdtempSync(join(tmpdir(), 'passgate-bench-hw-'));
  const pcscd = new Pcscd();
  const relayPty = new PtyPair(join(dir, 'relay'), join(dir, 'relay-peer'));
  let daemon: Running | undefined;
  try {
    const issuer = generateKeyPair('EdDSA');
    const listKey = generateKeyPair('EdDSA');
    const device = generateKeyPair('ES256');
    const cardKey = new Uint8Array(32).fill(5);
    const now = Math.floor(Date.now() / 1000);
    writeSigningKey(join(dir, 'terminal-key.json'));
    writeFileSync(join(dir, 'card-key.hex'), toHex(cardKey));
    const base = {
      terminalId: 'bench-hw',
      role: 'turnstile',
      gate: 'bench',
      dataDir: join(dir, 'data'),
      listPublicKey: toHex(listKey.publicKey),
      signingKeyFile: join(dir, 'terminal-key.json'),
      cardKeyFile: join(dir, 'card-key.hex'),
      requirement: { k: 'venue', v: 'zoo' },
      antiPassbackSeconds: 0,
      http: { port: 0 },
      log: { level: 'warn' },
      outputs: [{ type: 'serial-relay', name: 'relay', path: relayPty.device, pulseMs: 20 }],
    };
    const tcp = { type: 'tcp', port: 0, repeatIgnoreMs: 0 };
    const withPcsc = join(dir, 'with-pcsc.json');
    const without = join(dir, 'without-pcsc.json');
    writeFileSync(
      withPcsc,
      JSON.stringify({ ...base, inputs: [tcp, { type: 'pcsc', name: 'reader', reader: READER }] }),
    );
    writeFileSync(without, JSON.stringify({ ...base, inputs: [tcp] }));

    const uid = '04A1B2C3D4E5F6';
    const lists = [
      signList(listKey, {
        type: 'trust',
        version: 1,
        issuedAt: now,
        snapshot: {
          keys: [
            { kid: keyId(issuer.publicKey), alg: 'EdDSA', publicKey: issuer.publicKey, issuer: 'bench' },
          ],
        },
      }),
      signList(listKey, {
        type: 'revocation',
        version: 1,
        issuedAt: now,
        snapshot: { serials: [], subjects: [] },
      }),
      signList(listKey, {
        type: 'cards',
        version: 1,
        issuedAt: now,
        snapshot: encodeCardSnapshot([
          {
            h: cardHash(Buffer.from(uid, 'hex'), cardKey),
            sub: 'm-card',
            blocked: false,
            ent: [{ k: 'venue', v: 'zoo' }],
          },
        ]),
      }),
    ];
    const store = new SqliteStore(
      dbPath(validateConfig(JSON.parse(JSON.stringify({ ...base, inputs: [tcp] })), dir)),
    );
    store.open();
    const pinned = new VerifyKey('EdDSA', listKey.publicKey);
    for (const l of lists) {
      const r = applySignedListBytes(store, pinned, l, Date.now());
      if (r.outcome === 'refused') throw new Error(`list refused: ${r.message}`);
    }
    store.close();

    const credentials = Array.from({ length: 50 }, (_, i) =>
      issueCredential(issuer, {
        iss: 'bench',
        sub: `m-${i}`,
        iat: now,
        nbf: now - 60,
        exp: now + 86_400,
        cti: newSerial(),
        devicePublicKey: device.publicKey,
        ent: [{ k: 'venue', v: 'zoo' }],
      }),
    );
    const codes = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        toQrText(
          createPresentation({
            credential: credentials[i % credentials.length]!,
            deviceSecretKey: device.secretKey,
            t: Math.floor(Date.now() / 1000),
          }),
        ),
      );

    await relayPty.start();
    const relayBytes: Buffer[] = [];
    const relay = await openPeer(relayPty.peer, (b) => relayBytes.push(Buffer.from(b)));
    const opens = () => {
      const all = Buffer.concat(relayBytes);
      let n = 0;
      for (let i = all.indexOf(ON); i !== -1; i = all.indexOf(ON, i + 4)) n++;
      return n;
    };
    await pcscd.start();

    // --- 1. Card → decision → relay bytes, and QR latency with PC/SC active.
    log('daemon with the PC/SC input…');
    daemon = await startDaemon(withPcsc);
    const status = async () =>
      (
        (await (await fetch(`http://127.0.0.1:${daemon!.httpPort}/status`)).json()) as {
          devices: Record<string, { state: string }>;
        }
      ).devices;
    await waitFor('the reader', async () => (await status()).reader?.state === 'ok', 30_000);
    const taps: number[] = [];
    log(`${TAPS} card taps…`);
    for (let i = 0; i < TAPS + 3; i++) {
      const before = opens();
      const card = new VirtualCard(uid);
      const t0 = performance.now();
      await card.insert();
      await waitFor('relay open after a tap', () => opens() > before, 15_000);
      if (i >= 3) taps.push(performance.now() - t0); // the first taps warm the path
      await card.remove();
      await new Promise((r) => setTimeout(r, 250)); // vpcd notices the removal on its next poll
    }
    log(`${QR} QR decisions with PC/SC active…`);
    await qrLatencies(daemon.tcpPort, codes(200));
    const qrActive = await qrLatencies(daemon.tcpPort, codes(QR));
    await stopDaemon(daemon);
    daemon = undefined;

    // --- 2. QR latency without the PC/SC input, same machine, same lists, same relay.
    log(`${QR} QR decisions without PC/SC…`);
    daemon = await startDaemon(without);
    await qrLatencies(daemon.tcpPort, codes(200));
    const qrWithout = await qrLatencies(daemon.tcpPort, codes(QR));
    await stopDaemon(daemon);
    daemon = undefined;
    await closePeer(relay);

    const card = summary(taps);
    const active = summary(qrActive);
    const none = summary(qrWithout);
    const ratioP99 = +(active.p99 / none.p99).toFixed(3);
    const ratioP50 = +(active.p50 / none.p50).toFixed(3);
    const result = {
      card: {
        ...card,
        path: 'vicc insert → vpcd → pcscd → nfc-pcsc host → daemon → commit → relay pty bytes',
      },
      qrWithPcsc: active,
      qrWithoutPcsc: none,
      ratio: { p50: ratioP50, p99: ratioP99 },
      goal: 'QR p99 with PC/SC active within 10 % of not configured',
      met: ratioP99 < 1.1,
    };
    if (!opts.json)
      printTable(
        'hardware (ms)',
        ['measure', 'n', 'p50', 'p99', 'max'],
        [
          ['card insert → relay open bytes', card.n, card.p50, card.p99, card.max],
          ['QR decision, PC/SC active', active.n, active.p50, active.p99, active.max],
          ['QR decision, PC/SC not configured', none.n, none.p50, none.p99, none.max],
          ['ratio active / not configured', '', ratioP50, ratioP99, ''],
        ],
      );
    const file = writeResult('hardware', result);
    if (opts.json) console.log(JSON.stringify(result));
    else console.log(`\nwrote ${file}`);
    return result;
  } finally {
    if (daemon) await stopDaemon(daemon);
    await pcscd.stop();
    await relayPty.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
