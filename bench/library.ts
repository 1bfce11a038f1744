// Library benchmark (`npm run bench -- library`): a branch catalogue of 200,000 items applied to a kiosk's
// store, item decisions during a session (p50/p99, decision alone and scan-to-answer with its durable
// commit), and a 10-item session end to end (QR identification, 10 loans, done). Baselines measured in
// the same run on the same disk: raw SQLite bulk insert of the same rows, raw primary-key lookup, raw
// durable commit (one INSERT in a WAL transaction with synchronous=FULL).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { toHex } from '../shared/bytes.js';
import { createPresentation, issueCredential, newSerial, toQrText } from '../shared/credential.js';
import { encodeItemsSnapshot, encodePolicy, type CatalogueItem } from '../shared/library.js';
import { generateKeyPair, keyId, VerifyKey } from '../shared/keys.js';
import { signList } from '../shared/lists.js';
import { validateConfig } from '../terminal/config.js';
import { startTerminal } from '../terminal/daemon.js';
import { decideItem } from '../terminal/kiosk/decide.js';
import { writeSigningKey } from '../terminal/keys.js';
import { applySignedListBytes } from '../terminal/lists.js';
import { SqliteStore } from '../terminal/store/sqlite.js';
import { percentile, printTable, writeResult } from './harness.js';

const ITEMS = Number(process.env.PASSGATE_BENCH_ITEMS ?? 200_000);
const SESSIONS = Number(process.env.PASSGATE_BENCH_SESSIONS ?? 30);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const barcode = (i: number) => `31234${String(i).padStart(9, '0')}`;

export async function runLibraryBench(opts: { json: boolean }): Promise<object> {
  const dir = mkdtempSync(join(tmpdir(), 'passgate-bench-library-'));
  try {
    const issuer = generateKeyPair('EdDSA');
    const listKey = generateKeyPair('EdDSA');
    const device = generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const items: CatalogueItem[] = Array.from({ length: ITEMS }, (_, i) => ({
      barcode: barcode(i),
      type: i % 10 === 0 ? 'dvd' : 'book',
      loanable: i % 50 !== 0,
      ...(i % 997 === 0 ? { holdFor: 'm-someone' } : {}),
    }));
    let t0 = process.hrtime.bigint();
    const itemsList = signList(listKey, {
      type: 'items',
      version: 1,
      issuedAt: now,
      snapshot: encodeItemsSnapshot(items),
    });
    const signMs = ms(t0);
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
        type: 'library',
        version: 1,
        issuedAt: now,
        snapshot: encodePolicy({
          limit: 1000,
          types: { book: { days: 21, renewals: 2 }, dvd: { days: 7, renewals: 0 } },
        }),
      }),
    ];
    writeSigningKey(join(dir, 'terminal-key.json'));
    const config = validateConfig(
      {
        terminalId: 'bench-kiosk',
        role: 'kiosk',
        gate: 'bench',
        dataDir: join(dir, 'data'),
        listPublicKey: toHex(listKey.publicKey),
        signingKeyFile: join(dir, 'terminal-key.json'),
        requirement: { k: 'library', v: 'main' },
        http: { port: 0 },
        inputs: { repeatIgnoreMs: 0 },
        log: { level: 'silent' },
      },
      dir,
    );
    // --- catalogue load: verify + decode + apply in one transaction (what a kiosk does on a snapshot)
    const store = new SqliteStore(join(config.dataDir, 'terminal.db'));
    store.open();
    const key = new VerifyKey('EdDSA', listKey.publicKey);
    for (const l of lists) applySignedListBytes(store, key, l, Date.now());
    t0 = process.hrtime.bigint();
    const applied = applySignedListBytes(store, key, itemsList, Date.now());
    const loadMs = ms(t0);
    if (applied.outcome !== 'applied') throw new Error(`items list not applied: ${JSON.stringify(applied)}`);
    store.close();

    // --- baseline: the same rows bulk-inserted with raw SQLite in one transaction
    const raw = new Database(join(dir, 'raw.db'));
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.exec(
      'CREATE TABLE items (barcode TEXT PRIMARY KEY, type TEXT NOT NULL, loanable INTEGER NOT NULL, hold_for TEXT) WITHOUT ROWID; CREATE TABLE log (id INTEGER PRIMARY KEY, body TEXT NOT NULL)',
    );
    const ins = raw.prepare('INSERT INTO items VALUES (?, ?, ?, ?)');
    t0 = process.hrtime.bigint();
    raw.transaction(() => {
      for (const i of items) ins.run(i.barcode, i.type, i.loanable ? 1 : 0, i.holdFor ?? null);
    })();
    const rawLoadMs = ms(t0);
    const lookup = raw.prepare('SELECT type, loanable, hold_for FROM items WHERE barcode = ?');
    const lookups: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const s = process.hrtime.bigint();
      lookup.get(barcode((i * 7919) % ITEMS));
      lookups.push(ms(s));
    }
    const logIns = raw.prepare('INSERT INTO log (body) VALUES (?)');
    const commits: number[] = [];
    for (let i = 0; i < 300; i++) {
      const s = process.hrtime.bigint();
      raw.transaction(() => logIns.run(`{"kind":"loan","item":"${barcode(i)}"}`)).immediate();
      commits.push(ms(s));
    }
    raw.close();

    // --- a kiosk on that store: item decisions and sessions
    const t = await startTerminal(config, {
      logger: pino({ level: 'silent' }),
      consoleOutput: false,
      sync: false,
    });
    const kiosk = t.kiosk!;
    const repo = kiosk.loans;
    const decisions: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const b = barcode((i * 7919) % ITEMS);
      const s = process.hrtime.bigint();
      decideItem({
        sub: 'm-bench',
        blocked: repo.isBlocked('m-bench'),
        limit: 1000,
        openLoans: repo.openLoans('m-bench').length,
        item: repo.item(b),
        holder: repo.holder(b),
        policy: repo.policy(),
        nowMs: Date.now(),
      });
      decisions.push(ms(s));
    }
    const qr = (sub: string) => {
      const credential = issueCredential(issuer, {
        iss: 'bench',
        sub,
        iat: now - 60,
        nbf: now - 60,
        exp: now + 86_400,
        cti: newSerial(),
        devicePublicKey: device.publicKey,
        ent: [{ k: 'library', v: 'main', n: 1000 }],
      });
      return toQrText(
        createPresentation({
          credential,
          deviceSecretKey: device.secretKey,
          t: Math.floor(Date.now() / 1000),
        }),
      );
    };
    const scans: number[] = [];
    const sessions: number[] = [];
    let next = 1;
    for (let s = 0; s < SESSIONS; s++) {
      const code = qr(`m-bench-${s}`);
      const start = process.hrtime.bigint();
      await kiosk.handleLine(code, 'bench');
      for (let i = 0; i < 10; i++) {
        const b = process.hrtime.bigint();
        const r = await kiosk.handleLine(`item:${barcode(next++ * 13)}`, 'bench');
        scans.push(ms(b));
        if (!('decision' in r)) throw new Error('scan ignored');
      }
      await kiosk.handleLine('kiosk:done', 'bench');
      sessions.push(ms(start));
    }
    await t.stop();

    const sort = (a: number[]) => [...a].sort((x, y) => x - y);
    const [dec, scan, sess, look, com] = [decisions, scans, sessions, lookups, commits].map(
      sort,
    ) as number[][];
    const p = (a: number[], q: number) => percentile(a, q);
    const result = {
      items: ITEMS,
      listBytes: itemsList.length,
      signMs,
      loadMs,
      rawLoadMs,
      loadRatio: loadMs / rawLoadMs,
      decision: { p50: p(dec!, 50), p99: p(dec!, 99) },
      rawLookup: { p50: p(look!, 50), p99: p(look!, 99) },
      scanToAnswer: { p50: p(scan!, 50), p99: p(scan!, 99) },
      rawDurableCommit: { p50: p(com!, 50), p99: p(com!, 99) },
      session10: { p50: p(sess!, 50), p99: p(sess!, 99), sessions: SESSIONS },
    };
    if (!opts.json) {
      printTable(
        `library: ${ITEMS.toLocaleString('en-US')}-item catalogue (${(itemsList.length / 1e6).toFixed(1)} MB signed)`,
        ['measure', 'ms', 'baseline ms', 'ratio'],
        [
          ['catalogue load (verify+decode+apply)', loadMs, rawLoadMs, (loadMs / rawLoadMs).toFixed(2)],
          [
            'item decision p50',
            result.decision.p50,
            result.rawLookup.p50,
            (result.decision.p50 / result.rawLookup.p50).toFixed(1),
          ],
          [
            'item decision p99',
            result.decision.p99,
            result.rawLookup.p99,
            (result.decision.p99 / result.rawLookup.p99).toFixed(1),
          ],
          [
            'scan → answer p50 (decision+commit)',
            result.scanToAnswer.p50,
            result.rawDurableCommit.p50,
            (result.scanToAnswer.p50 / result.rawDurableCommit.p50).toFixed(2),
          ],
          [
            'scan → answer p99',
            result.scanToAnswer.p99,
            result.rawDurableCommit.p99,
            (result.scanToAnswer.p99 / result.rawDurableCommit.p99).toFixed(2),
          ],
          [
            '10-item session p50 (QR + 10 loans + done)',
            result.session10.p50,
            11 * result.rawDurableCommit.p50,
            (result.session10.p50 / (11 * result.rawDurableCommit.p50)).toFixed(2),
          ],
          [
            '10-item session p99',
            result.session10.p99,
            11 * result.rawDurableCommit.p99,
            (result.session10.p99 / (11 * result.rawDurableCommit.p99)).toFixed(2),
          ],
        ],
      );
      console.log(
        `signing the catalogue at central: ${signMs.toFixed(0)} ms; baselines: raw bulk insert, raw PK lookup, raw durable commit (×11 for a session)`,
      );
    }
    const path = writeResult('library', result);
    if (opts.json) console.log(JSON.stringify(result));
    else console.log(`wrote ${path}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
