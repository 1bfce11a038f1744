// lists_missing (issue 9 item 9): a terminal whose trust list is missing, or older than the versions central
// announced in its signed beacons, blames itself — not the credential — and says what to do.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openBeacon, signBeacon } from '../shared/beacon.js';
import { generateKeyPair, VerifyKey } from '../shared/keys.js';
import { REASON_TEXT } from '../shared/reasons.js';
import { ISSUER, makeFleet, type Fleet } from '../test/terminal/fixture.js';
import { issueCredential, newSerial } from '../shared/credential.js';
import { loadConfig } from './config.js';
import { startTerminal, type RunningTerminal } from './daemon.js';

const logger = pino({ level: 'silent' });

describe('lists_missing', () => {
  let fleet: Fleet;
  let t: RunningTerminal | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    fleet?.cleanup();
  });

  async function start(withLists: boolean): Promise<RunningTerminal> {
    fleet = makeFleet();
    t = await startTerminal(loadConfig(fleet.configFile), { logger, consoleOutput: false });
    if (withLists)
      for (const f of ['trust.cose', 'revocation.cose'])
        t.port.applySignedList(new Uint8Array(readFileSync(`${fleet.listsDir}/${f}`)));
    return t;
  }

  const beacon = (lists: Record<string, number>, seq: number) =>
    signBeacon(fleet.listKey, { t: Date.now(), seq, lists });

  it('a terminal without a trust list denies every code with lists_missing', async () => {
    const term = await start(false);
    const r = await term.submit(fleet.qr(fleet.credential('m-1')));
    expect(r).toMatchObject({ decision: 'deny', reason: 'lists_missing' });
    expect(REASON_TEXT.lists_missing).toMatch(/central.*terminal status|load-lists/);
  });

  it('an unknown issuer while the trust list is behind central is lists_missing; once current, unknown_issuer', async () => {
    const term = await start(true);
    const stranger = generateKeyPair('EdDSA');
    // a credential the terminal cannot know: signed by a key its trust list (v1) does not hold
    const now = Math.floor(Date.now() / 1000);
    const foreign = () =>
      fleet.qr(
        issueCredential(stranger, {
          iss: ISSUER,
          sub: 'm-2',
          iat: now,
          nbf: now,
          exp: now + 3600,
          cti: newSerial(),
          devicePublicKey: fleet.device.publicKey,
          ent: [{ k: 'venue', v: 'zoo' }],
        }),
      );
    expect(term.centralLists.current()).toBe(false); // nothing heard from central yet
    expect(term.port.applyTimeBeacon(beacon({ trust: 2, revocation: 1 }, 10))).toBe(true);
    expect(term.centralLists.behind('trust')).toBe(true);
    expect(await term.submit(foreign())).toMatchObject({ decision: 'deny', reason: 'lists_missing' });
    // a credential the old list does cover still works: only the terminal's doubt changes the reason
    expect(await term.submit(fleet.qr(fleet.credential('m-3')))).toMatchObject({ decision: 'accept' });
    expect(await term.waitForLists(200)).toBe(false);

    t = undefined;
    await term.stop();
    const again = await start(true);
    expect(again.port.applyTimeBeacon(beacon({ trust: 1, revocation: 1 }, 20))).toBe(true);
    expect(again.centralLists.current()).toBe(true);
    expect(await again.waitForLists(0)).toBe(true);
    expect(await again.submit(foreign())).toMatchObject({ decision: 'deny', reason: 'unknown_issuer' });
  });

  it('beacons carry list versions; a beacon without them (older central) still opens', () => {
    const listKey = generateKeyPair('EdDSA');
    const pinned = new VerifyKey('EdDSA', listKey.publicKey);
    const at = Date.now();
    expect(
      openBeacon(signBeacon(listKey, { t: at, seq: at, lists: { trust: 3, revocation: 9 } }), pinned),
    ).toEqual({
      t: at,
      seq: at,
      lists: { trust: 3, revocation: 9 },
    });
    expect(openBeacon(signBeacon(listKey, { t: at, seq: 5 }), pinned)).toEqual({ t: at, seq: 5 });
  });
});
