// `central start --issuer DIR` takes over an issuer folder: its revocations come along and central's list
// versions move past the folder's, so a terminal that first loaded the folder's lists accepts central's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startCentral, type Central } from '../../central/index.js';
import { IssuerKeystore } from '../../issuer/keystore.js';
import { toHex } from '../../shared/bytes.js';
import { VerifyKey } from '../../shared/keys.js';
import { openList } from '../../shared/lists.js';
import { MemoryStore } from '../../shared/store.js';

const dir = mkdtempSync(join(tmpdir(), 'passgate-issuer-folder-'));
let central: Central | undefined;
afterAll(async () => {
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('central adopting an issuer folder', () => {
  it('imports folder revocations once and publishes versions above the folder lists', async () => {
    const issuer = IssuerKeystore.init(join(dir, 'issuer'), { alg: 'EdDSA', issuer: 'city-pass' });
    const cti = 'ab'.repeat(16);
    issuer.revoke(cti);
    issuer.suspend('m-frozen');
    issuer.revoke('cd'.repeat(16));
    // A terminal that was set up from the folder's signed lists (revocation v4, trust v1).
    const out = join(dir, 'lists');
    issuer.writeLists(out, 1_800_000_000);
    const listKey = new VerifyKey('EdDSA', issuer.listKey.publicKey);
    const terminal = new MemoryStore();
    for (const name of ['trust', 'revocation'])
      terminal.applyList(openList(new Uint8Array(readFileSync(join(out, `${name}.cose`))), listKey));
    expect(terminal.listVersions.get('revocation')).toBe(4);

    central = await startCentral({
      dataDir: join(dir, 'central'),
      mqttPort: 0,
      httpPort: -1,
      logger: pino({ level: 'silent' }),
      listKey: issuer.listKey,
      scryptCost: 10,
    });
    const k = issuer.trustedKey();
    await central.trustIssuerKey({ alg: k.alg, publicKey: k.publicKey, issuer: k.issuer });
    const folder = { revoked: issuer.revoked, suspended: issuer.suspended, versions: issuer.versions };
    const adopted = await central.adoptIssuerFolder(folder);
    expect(adopted.revocation).toBeGreaterThan(issuer.versions.revocation);
    expect(adopted.trust).toBeGreaterThan(issuer.versions.trust);
    const held = await central.store.listElements('revocation', 0);
    const keys = held.elements.map((e) => `${e.kind}:${e.key}`).sort();
    expect(keys).toEqual([`serial:${cti}`, `serial:${'cd'.repeat(16)}`, 'subject:m-frozen'].sort());
    // Idempotent: a restart adopting the same folder makes no new version.
    expect(await central.adoptIssuerFolder(folder)).toEqual(adopted);
    expect((await central.status()).lists.revocation?.version).toBe(adopted.revocation);
    expect(toHex(central.listPublicKey)).toBe(toHex(issuer.listKey.publicKey));
  });
});
