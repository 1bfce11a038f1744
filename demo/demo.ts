// The narrated demo: issuer → wallet → signed lists → offline verification, with each kind of denial.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IssuerKeystore } from '../central/issuer/keystore.js';
import { base45Decode, base45Encode } from '../shared/base45.js';
import { REASON_TEXT } from '../shared/reasons.js';
import { verify, type Decision } from '../shared/verify.js';
import { Wallet } from '../wallet/wallet.js';
import { loadListDir } from '../cli/commands/verify.js';
import type { CommandIo } from '../cli/command.js';

export async function runDemo(io: CommandIo): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'passgate-demo-'));
  const say = (text: string) => io.out(text);
  let failures = 0;
  const show = (label: string, d: Decision, expected: string) => {
    const ok = d.reason === expected;
    if (!ok) failures++;
    say(
      `  ${d.decision === 'accept' ? '✔ ACCEPT' : '✘ DENY  '}  ${label.padEnd(42)} reason=${d.reason} (${REASON_TEXT[d.reason]})${ok ? '' : `  <-- expected ${expected}`}`,
    );
  };
  try {
    const now = Math.floor(Date.now() / 1000);
    say('passgate demo — offline verification of city pass codes\n');
    say('1. The city issuer creates its keys (an Ed25519 issuer key and a list-signing key).');
    const issuer = IssuerKeystore.init(join(work, 'issuer'), { alg: 'EdDSA', issuer: 'taipei-pass' });
    say('2. Two citizens set up the app: each phone gets its own P-256 device key.');
    const alice = Wallet.create(join(work, 'alice.json'));
    const bob = Wallet.create(join(work, 'bob.json'));
    say('3. The issuer gives each a credential (pseudonym only, no name): zoo entry and library loans.');
    for (const [wallet, sub, days, at] of [
      [alice, 'm-7f3a91', 30, now],
      [bob, 'm-22c0d4', 1, now - 3 * 86400],
    ] as const) {
      const ent = [
        { k: 'venue', v: 'zoo' },
        { k: 'library', v: 'main', n: 8 },
      ];
      const { credential, record } = issuer.issue({
        sub,
        devicePublicKey: wallet.devicePublicKey,
        ent,
        days,
        now: at,
      });
      wallet.addCredential(credential, { cti: record.cti, sub, iss: issuer.issuer, exp: record.exp, ent });
    }
    say('4. Terminals receive signed lists (trust + revocation) once; from then on they decide offline.');
    const lists = join(work, 'lists');
    issuer.writeLists(lists, now);
    let { store } = loadListDir(lists);
    const require = { k: 'venue', v: 'zoo' };
    const check = (qr: string, at = now) => verify(qr, store, { now: at, requirement: require });

    say('\n5. At the zoo turnstile:');
    const qr = alice.present(now);
    say(`  Alice's phone shows a ${qr.length}-character QR: ${qr.slice(0, 48)}…`);
    show("Alice's live code", check(qr), 'ok');
    show('the same code scanned again (screenshot)', check(qr), 'replayed');
    const forged = base45Decode(alice.present(now).slice(4));
    const loans = Buffer.from(forged).indexOf(Buffer.from([0x61, 0x6e, 0x08])); // "n": 8 loans
    forged[loans + 2] = 0x18 - 4; // edited to 20 loans
    show('a code edited to allow 20 loans', check('PG1:' + base45Encode(forged)), 'bad_issuer_signature');
    show('a photo of the code taken 2 minutes ago', check(alice.present(now - 120)), 'stale');
    show("Bob's credential (expired two days ago)", check(bob.present(now)), 'cert_expired');
    show('a library card code at the zoo (not a PG1 code)', check('LIB-000123'), 'malformed');

    say('\n6. Alice reports her phone stolen; the issuer revokes that credential and publishes new lists.');
    issuer.revoke(alice.credentials[0]!.cti);
    issuer.writeLists(lists, now);
    ({ store } = loadListDir(lists));
    show("Alice's old credential, fresh code", check(alice.present(now + 1)), 'revoked');

    say(
      failures === 0
        ? '\nDemo finished: every decision came out as expected.'
        : `\nDemo finished with ${failures} unexpected decision(s).`,
    );
    return failures === 0 ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
