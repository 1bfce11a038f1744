// `passgate demo`: central + three terminals + simulated wallets on embedded defaults, narrated.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startCentral, type Central } from '../central/index.js';
import { IssuerKeystore } from '../issuer/keystore.js';
import { base45Decode, base45Encode } from '../shared/base45.js';
import type { Entitlement } from '../shared/credential.js';
import { REASON_TEXT, type Reason } from '../shared/reasons.js';
import { Wallet } from '../wallet/wallet.js';
import {
  bootTerminal,
  enrollTerminal,
  waitForPublishedLists,
  type DemoTerminal,
  type TerminalSpec,
} from '../testkit/fleet.js';
import { waitFor } from '../testkit/wait.js';

const TERMINALS: TerminalSpec[] = [
  {
    id: 'zoo-gate-1',
    role: 'turnstile',
    gate: 'zoo-north',
    requirement: { k: 'venue', v: 'zoo' },
    label: 'zoo turnstile',
  },
  {
    id: 'library-kiosk-1',
    role: 'kiosk',
    gate: 'main-branch',
    requirement: { k: 'library', v: 'main' },
    label: 'library kiosk',
  },
  {
    id: 'counter-1',
    role: 'counter',
    gate: 'city-hall',
    requirement: { k: 'concession', c: ['senior'] },
    label: 'service counter',
  },
];

/** Where the demo narrates (the CLI passes its own io). */
export interface DemoIo {
  out(text: string): void;
  err(text: string): void;
  json: boolean;
}

export async function runDemo(io: DemoIo): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'passgate-demo-'));
  const logger = pino({ level: 'silent' });
  const say = (text = '') => io.out(text);
  const started = performance.now();
  let failures = 0;
  let central: Central | undefined;
  const terminals = new Map<string, DemoTerminal>();
  const now = () => Math.floor(Date.now() / 1000);

  async function scan(id: string, who: string, qr: string, expected: Reason): Promise<void> {
    const t = terminals.get(id)!;
    const r = await t.running.submit(qr, 'demo');
    if (!('decision' in r)) throw new Error(`line ignored: ${r.ignored}`);
    const ok = r.reason === expected;
    if (!ok) failures++;
    const mark = r.decision === 'accept' ? 'OPEN  ' : 'DENIED';
    say(
      `  [${t.spec.label}]`.padEnd(20) +
        `${mark} ${who.padEnd(42)} ${r.reason} — ${REASON_TEXT[r.reason as Reason]} (${r.seq === null ? 'no event' : `event #${r.seq}`})${ok ? '' : `  <-- expected ${expected}`}`,
    );
  }

  try {
    say('passgate demo — central, three terminals and simulated phones, all on this machine\n');
    say('Setting up');
    const issuer = IssuerKeystore.init(join(work, 'issuer'), { alg: 'EdDSA', issuer: 'taipei-pass' });
    central = await startCentral({
      dataDir: join(work, 'central'),
      mqttPort: 0,
      httpPort: -1,
      logger,
      listKey: issuer.listKey,
      scryptCost: 12,
      beaconEveryMs: 5_000,
    });
    await central.trustIssuerKey({
      alg: issuer.issuerKey.alg,
      publicKey: issuer.issuerKey.publicKey,
      issuer: issuer.issuer,
    });
    // The library's loan policy and a small catalogue (docs/library.md): signed lists for the kiosk.
    await central.library.setPolicy({ branch: 'main', limit: 8, types: { book: { days: 21, renewals: 2 } } });
    await central.library.setItems([
      { barcode: '31234000123456', type: 'book', loanable: true },
      { barcode: '31234000999999', type: 'book', loanable: false },
    ]);
    say(
      `  central: embedded MQTT broker on ${central.mqttUrl}, SQLite store; trusts issuer "${issuer.issuer}"`,
    );
    for (const spec of TERMINALS) {
      const configFile = await enrollTerminal(central, work, spec);
      terminals.set(spec.id, { spec, configFile, running: await bootTerminal(configFile, logger, true) });
    }
    // Not just "a" list: the versions central published (a terminal still on the empty first trust list
    // would deny the first codes with lists_missing).
    const listsIn =
      (await waitForPublishedLists(
        central,
        [...terminals.values()].map((t) => t.running),
      )) +
      // A kiosk also needs the library lists (policy and catalogue) before it lends.
      (await waitFor('library lists on every kiosk', () =>
        [...terminals.values()].every((t) => {
          const l = t.running.report().lists;
          return t.spec.role !== 'kiosk' || (l.library !== undefined && l.items !== undefined);
        }),
      ));
    say(`  terminals: ${TERMINALS.map((t) => `${t.id} (${t.role})`).join(', ')}`);
    say(
      `    enrolled with one-time codes; each pinned central's list key and received the signed lists in ${Math.round(listsIn)} ms`,
    );

    const issue = (
      name: string,
      sub: string,
      ent: Entitlement[],
      opts: { days?: number; at?: number } = {},
    ) => {
      const wallet = Wallet.create(join(work, `${name}.wallet.json`));
      const { credential, record } = issuer.issue({
        sub,
        devicePublicKey: wallet.devicePublicKey,
        ent,
        days: opts.days ?? 30,
        now: opts.at ?? now(),
      });
      wallet.addCredential(credential, { cti: record.cti, sub, iss: issuer.issuer, exp: record.exp, ent });
      return wallet;
    };
    const alice = issue('alice', 'm-7f3a91', [
      { k: 'venue', v: 'zoo' },
      { k: 'library', v: 'main', n: 8 },
    ]);
    const bob = issue('bob', 'm-22c0d4', [{ k: 'venue', v: 'zoo' }], { days: 1, at: now() - 3 * 86400 });
    const carol = issue('carol', 'm-90be17', [{ k: 'concession', c: 'senior' }]);
    say(
      '  phones: Alice (zoo + library), Bob (zoo pass that expired two days ago), Carol (senior concession)',
    );
    say('  (credentials carry pseudonyms such as m-7f3a91; no terminal ever sees a name)\n');

    say('At the zoo turnstile');
    const aliceQr = alice.present(now());
    say(`  Alice's phone shows a ${aliceQr.length}-character QR code that changes every 15 seconds`);
    await scan('zoo-gate-1', "Alice's live code", aliceQr, 'ok');
    await scan('zoo-gate-1', 'a screenshot of that same code', aliceQr, 'replayed');
    const forged = base45Decode(alice.present(now()).slice(4));
    const loans = Buffer.from(forged).indexOf(Buffer.from([0x61, 0x6e, 0x08]));
    forged[loans + 2] = 0x14;
    await scan(
      'zoo-gate-1',
      'a code edited to allow 20 library loans',
      'PG1:' + base45Encode(forged),
      'bad_issuer_signature',
    );
    await scan('zoo-gate-1', 'a photo of the code taken 2 minutes ago', alice.present(now() - 120), 'stale');
    await scan('zoo-gate-1', "Bob's expired pass", bob.present(now()), 'cert_expired');
    await scan('zoo-gate-1', 'Carol (senior card, no zoo pass)', carol.present(now()), 'not_entitled');

    say('\nAt the library and the service counter');
    await scan('library-kiosk-1', "Alice's live code (greeted as m-7f3a91)", alice.present(now()), 'ok');
    await scan('library-kiosk-1', 'a book, 31234000123456', 'item:31234000123456', 'ok');
    await scan('library-kiosk-1', 'a reference book', 'item:31234000999999', 'item_not_loanable');
    await scan('library-kiosk-1', 'Done', 'kiosk:done', 'ok');
    await scan('counter-1', "Carol's senior concession", carol.present(now()), 'ok');
    await scan('counter-1', 'Alice (no concession)', alice.present(now()), 'not_entitled');

    say('\nAlice reports her phone stolen: central revokes her credential');
    const revokedAt = performance.now();
    const version = await central.revoke(alice.credentials[0]!.cti);
    await waitFor('the revocation delta on every terminal', () =>
      [...terminals.values()].every((t) => (t.running.report().lists.revocation?.version ?? 0) >= version),
    );
    say(
      `  signed revocation delta v${version} reached all three terminals in ${Math.round(performance.now() - revokedAt)} ms`,
    );
    await scan('zoo-gate-1', "Alice's credential, fresh code", alice.present(now()), 'revoked');
    await scan('library-kiosk-1', "Alice's credential, fresh code", alice.present(now()), 'revoked');

    say('\nThe service counter loses its network (its MQTT link is down) and keeps working offline');
    const counter = terminals.get('counter-1')!;
    await counter.running.stop();
    counter.running = await bootTerminal(counter.configFile, logger, false);
    await scan('counter-1', "Carol's senior concession", carol.present(now()), 'ok');
    await scan('counter-1', "Alice's revoked credential", alice.present(now()), 'revoked');
    await scan('counter-1', 'Carol again, for a second service', carol.present(now()), 'ok');
    const offline = counter.running.report();
    const before = await central.eventCount('counter-1');
    say(
      `  counter outbox: ${offline.outboxDepth} events waiting (last seq ${offline.lastSeq}); central has ${before} from it`,
    );
    await counter.running.stop();
    counter.running = await bootTerminal(counter.configFile, logger, true);
    const drainedIn = await waitFor(
      'the counter to catch up',
      async () => (await central!.eventCount('counter-1')) === offline.lastSeq,
    );
    await waitFor('acks', () => counter.running.report().outboxDepth === 0);
    say(
      `  link back: the outbox drained in ${Math.round(drainedIn)} ms; central now has all ${offline.lastSeq} events from the counter`,
    );

    say('\nFinal counts at central (every decision committed on a terminal, stored once at central)');
    let total = 0;
    for (const t of terminals.values()) {
      const report = t.running.report();
      await waitFor(
        `${t.spec.id} drained`,
        async () => (await central!.eventCount(t.spec.id)) === report.lastSeq,
      );
      const events = await central.events(t.spec.id, 0, 10_000);
      const decisions = events.filter((e) => e.decision !== undefined);
      const accepted = decisions.filter((e) => e.decision === 'accept').length;
      const other = events.length - decisions.length;
      const seqsOk = events.every((e, i) => e.seq === i + 1);
      if (!seqsOk || events.length !== report.lastSeq) failures++;
      total += events.length;
      say(
        `  ${t.spec.id.padEnd(16)} ${String(events.length).padStart(3)} events: ${accepted} opened, ${decisions.length - accepted} denied, ${other} list updates; seq 1..${report.lastSeq} ${seqsOk ? 'contiguous' : 'NOT CONTIGUOUS'}`,
      );
    }
    const status = await central.status();
    say(
      `  total ${total} events; lists: trust v${status.lists.trust?.version}, revocation v${status.lists.revocation?.version}`,
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    say(
      failures === 0
        ? `\nDemo finished in ${seconds} s: every decision came out as expected and no event was lost.`
        : `\nDemo finished with ${failures} unexpected result(s).`,
    );
    return failures === 0 ? 0 : 1;
  } finally {
    for (const t of [...terminals.values()].reverse()) await t.running.stop().catch(() => undefined);
    await central?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}
