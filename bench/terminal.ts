// Terminal benchmark: a real daemon process holding 1,000,000 revoked serials and 1,000,000 card bindings.
// Measures decisions/s and p50/p99 latency over TCP (verify + policy + durable commit + answer), the
// ratio against raw signature verification (issuer Ed25519 + device ES256) in the same run, RSS, and
// the time from spawning the process to its ready line. Goals: p99 ≤ 5 ms, RSS ≤ 150 MB, ready ≤ 2 s.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex } from '../shared/bytes.js';
import { decodeCbor } from '../shared/cbor.js';
import { parseSign1, verifySign1 } from '../shared/cose.js';
import { createPresentation, issueCredential, toQrText } from '../shared/credential.js';
import { generateKeyPair, keyId, VerifyKey } from '../shared/keys.js';
import { signList } from '../shared/lists.js';
import { cardHash, encodeCardSnapshot } from '../shared/cards.js';
import { dbPath, validateConfig } from '../terminal/config.js';
import { writeSigningKey } from '../terminal/keys.js';
import { applySignedListBytes } from '../terminal/lists.js';
import { SqliteStore } from '../terminal/store/sqlite.js';

const LIST_SIZE = Number(process.env.PASSGATE_BENCH_LIST_SIZE ?? 1_000_000);
const DECISIONS = Number(process.env.PASSGATE_BENCH_DECISIONS ?? 3000);
const WARMUP = 200;

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export async function runTerminalBench(opts: { json: boolean }): Promise<object> {
  const log = (s: string) => {
    if (!opts.json) process.stderr.write(s + '\n');
  };
  const root = projectRoot();
  const dir = mkdtempSync(join(tmpdir(), 'passgate-bench-terminal-'));
  try {
    const issuer = generateKeyPair('EdDSA');
    const listKey = generateKeyPair('EdDSA');
    const device = generateKeyPair('ES256');
    const cardKey = new Uint8Array(32).fill(9);
    const now = Math.floor(Date.now() / 1000);
    writeSigningKey(join(dir, 'terminal-key.json'));
    writeFileSync(join(dir, 'card-key.hex'), toHex(cardKey));
    const rawConfig = {
      terminalId: 'bench-1',
      role: 'turnstile',
      gate: 'bench',
      dataDir: join(dir, 'data'),
      listPublicKey: toHex(listKey.publicKey),
      signingKeyFile: join(dir, 'terminal-key.json'),
      cardKeyFile: join(dir, 'card-key.hex'),
      requirement: { k: 'venue', v: 'zoo' },
      antiPassbackSeconds: 0,
      inputs: [{ type: 'tcp', port: 0, repeatIgnoreMs: 0 }],
      http: { port: 0 },
      log: { level: 'warn' },
    };
    const configFile = join(dir, 'terminal.json');
    writeFileSync(configFile, JSON.stringify(rawConfig));

    // --- Lists: 1M revoked serials, 1M card bindings, through the real signed-list path.
    log(`building signed lists (${LIST_SIZE} serials, ${LIST_SIZE} card bindings)…`);
    const serials = Array.from({ length: LIST_SIZE }, (_, i) => {
      const s = new Uint8Array(16);
      new DataView(s.buffer).setUint32(0, i + 1);
      s[15] = 0xee;
      return s;
    });
    const bindings = Array.from({ length: LIST_SIZE }, (_, i) => {
      const uid = new Uint8Array(7);
      new DataView(uid.buffer).setUint32(3, i);
      return {
        h: cardHash(uid, cardKey),
        sub: `c${i}`,
        blocked: i % 100 === 0,
        ent: [{ k: 'venue', v: 'zoo' }],
      };
    });
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
        snapshot: { serials, subjects: [] },
      }),
      signList(listKey, { type: 'cards', version: 1, issuedAt: now, snapshot: encodeCardSnapshot(bindings) }),
    ];
    const config = validateConfig(rawConfig);
    mkdirSync(config.dataDir, { recursive: true });
    const store = new SqliteStore(dbPath(config));
    store.open();
    const loadStarted = performance.now();
    const listKeyV = new VerifyKey('EdDSA', listKey.publicKey);
    for (const bytes of lists) {
      const r = applySignedListBytes(store, listKeyV, bytes, Date.now());
      if (r.outcome !== 'applied') throw new Error(`bench list refused: ${JSON.stringify(r)}`);
    }
    const listLoadSeconds = (performance.now() - loadStarted) / 1000;
    const counts = {
      revokedSerials: store.lists.count('revoked_serials'),
      cardBindings: store.lists.count('card_bindings'),
    };
    store.close();
    const dbBytes = readFileSync(dbPath(config)).length;

    // --- Presentations: one credential per decision (distinct subjects), fresh t.
    log(`signing ${DECISIONS + WARMUP} presentations…`);
    const codes: string[] = [];
    const parsed: Array<{ cred: ReturnType<typeof parseSign1>; pres: ReturnType<typeof parseSign1> }> = [];
    const t = Math.floor(Date.now() / 1000) + 20; // still inside the 30 s window at the end of the run
    for (let i = 0; i < DECISIONS + WARMUP; i++) {
      const cti = new Uint8Array(16);
      new DataView(cti.buffer).setUint32(0, i + 1);
      cti[15] = 0x01; // never one of the revoked serials (those end in 0xee)
      const credential = issueCredential(issuer, {
        iss: 'bench',
        sub: `m${i}`,
        iat: now - 60,
        nbf: now - 60,
        exp: now + 86_400,
        cti,
        devicePublicKey: device.publicKey,
        ent: [{ k: 'venue', v: 'zoo' }],
      });
      const presentation = createPresentation({ credential, deviceSecretKey: device.secretKey, t: t - 10 });
      codes.push(toQrText(presentation));
      if (i < 1000) {
        const pres = parseSign1(presentation);
        const body = decodeCbor(pres.payload) as Map<number, Uint8Array>;
        parsed.push({ pres, cred: parseSign1(body.get(1)!) });
      }
    }

    // --- Baseline: raw signature verification (issuer Ed25519 + device ES256), node backend.
    const issuerKey = new VerifyKey('EdDSA', issuer.publicKey);
    const deviceKey = new VerifyKey('ES256', device.publicKey);
    for (const p of parsed.slice(0, 100))
      if (!verifySign1(p.cred, issuerKey) || !verifySign1(p.pres, deviceKey))
        throw new Error('warm-up failed');
    const rawStarted = performance.now();
    let ok = 0;
    for (let round = 0; round < 3; round++)
      for (const p of parsed) if (verifySign1(p.cred, issuerKey) && verifySign1(p.pres, deviceKey)) ok++;
    const rawVerifyMs = (performance.now() - rawStarted) / (parsed.length * 3);
    if (ok !== parsed.length * 3) throw new Error('baseline verification failed');

    // --- The daemon: spawn → ready line.
    log('starting the daemon…');
    const spawned = performance.now();
    const proc = spawn(
      process.execPath,
      [join(root, 'bin/passgate.js'), 'terminal', 'start', '--config', configFile, '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const ready = await new Promise<{ tcpPort: number; httpPort: number }>((res, rej) => {
      let out = '';
      const timer = setTimeout(() => rej(new Error(`daemon not ready in 60 s: ${stderr}`)), 60_000);
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl === -1) return;
        clearTimeout(timer);
        proc.stdout.removeAllListeners('data');
        proc.stdout.resume();
        res(JSON.parse(out.slice(0, nl)) as { tcpPort: number; httpPort: number });
      });
      proc.once('exit', (code) => rej(new Error(`daemon exited ${code}: ${stderr}`)));
    });
    const readyMs = performance.now() - spawned;
    const rssAtReady = rssMb(proc.pid!);

    // --- Decisions over TCP, one at a time (a gate decides one person at a time).
    const socket = connect(ready.tcpPort, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((res) => socket.once('connect', () => res()));
    socket.setEncoding('utf8');
    let buf = '';
    let pending: ((line: string) => void) | undefined;
    socket.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1 && pending) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const p = pending;
        pending = undefined;
        p(line);
      }
    });
    const send = (line: string) =>
      new Promise<string>((res) => {
        pending = res;
        socket.write(line + '\n');
      });
    const latencies: number[] = [];
    const reasons: Record<string, number> = {};
    const runStarted = performance.now();
    for (let i = 0; i < codes.length; i++) {
      const started = performance.now();
      const answer = JSON.parse(await send(codes[i]!)) as { reason: string };
      const ms = performance.now() - started;
      if (i >= WARMUP) {
        latencies.push(ms);
        reasons[answer.reason] = (reasons[answer.reason] ?? 0) + 1;
      }
    }
    const elapsed = (performance.now() - runStarted) / 1000;
    // Card taps: HMAC + lookup in 1M bindings + commit.
    const cardLatencies: number[] = [];
    for (let i = 0; i < 500; i++) {
      const uid = new Uint8Array(7);
      new DataView(uid.buffer).setUint32(3, (i * 1999) % LIST_SIZE);
      const started = performance.now();
      await send(`card:${toHex(uid)}`);
      cardLatencies.push(performance.now() - started);
    }
    const rssAfter = rssMb(proc.pid!);
    socket.destroy();
    proc.kill('SIGTERM');
    await new Promise((res) => proc.once('exit', res));

    latencies.sort((a, b) => a - b);
    cardLatencies.sort((a, b) => a - b);
    const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    const result = {
      bench: 'terminal',
      lists: {
        ...counts,
        loadSeconds: +listLoadSeconds.toFixed(2),
        dbMegabytes: +(dbBytes / 1048576).toFixed(1),
      },
      decisions: latencies.length,
      reasons,
      decisionsPerSecond: +(latencies.length / elapsed).toFixed(0),
      latencyMs: {
        p50: +percentile(latencies, 50).toFixed(3),
        p99: +percentile(latencies, 99).toFixed(3),
        max: +latencies.at(-1)!.toFixed(3),
        mean: +mean.toFixed(3),
      },
      cardLatencyMs: {
        p50: +percentile(cardLatencies, 50).toFixed(3),
        p99: +percentile(cardLatencies, 99).toFixed(3),
      },
      rawVerifyMs: +rawVerifyMs.toFixed(3),
      ratioVsRawVerify: +(percentile(latencies, 50) / rawVerifyMs).toFixed(2),
      rssMegabytes: {
        atReady: +rssAtReady.rss.toFixed(1),
        afterRun: +rssAfter.rss.toFixed(1),
        peak: +rssAfter.peak.toFixed(1),
      },
      readyMs: +readyMs.toFixed(0),
      goals: {
        p99Within5ms: percentile(latencies, 99) <= 5,
        rssWithin150MB: rssAfter.peak <= 150,
        readyWithin2s: readyMs <= 2000,
      },
    };
    if (!opts.json) {
      const rows: Array<[string, string, string]> = [
        ['lists held', `${counts.revokedSerials} serials, ${counts.cardBindings} cards`, ''],
        ['decisions/s (sequential, TCP)', String(result.decisionsPerSecond), ''],
        [
          'latency p50 / p99 (incl. commit)',
          `${result.latencyMs.p50} / ${result.latencyMs.p99} ms`,
          'p99 ≤ 5 ms',
        ],
        ['card tap p50 / p99', `${result.cardLatencyMs.p50} / ${result.cardLatencyMs.p99} ms`, ''],
        ['raw verify (Ed25519 + ES256)', `${result.rawVerifyMs} ms`, ''],
        ['decision p50 / raw verify', `${result.ratioVsRawVerify}×`, ''],
        [
          'RSS at ready / peak',
          `${result.rssMegabytes.atReady} / ${result.rssMegabytes.peak} MB`,
          '≤ 150 MB',
        ],
        ['spawn → ready', `${result.readyMs} ms`, '≤ 2000 ms'],
      ];
      process.stdout.write('\nterminal benchmark\n');
      for (const [k, v, goal] of rows) process.stdout.write(`  ${k.padEnd(34)}${v.padEnd(30)}${goal}\n`);
    }
    const outDir = join(root, 'bench/results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(resolve(outDir, 'terminal.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
