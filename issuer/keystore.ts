// The issuer's key material and credential registry on disk (`passgate issuer … --dir D`).
// Files: issuer-key.json, list-key.json and card-key.hex (secrets, 0600) and state.json (issued serials,
// revocations, suspensions, card bindings by UID hash, list versions). Central's database takes this role when central runs (see central/).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cardHash, encodeCardSnapshot } from '../shared/cards.js';
import { privateDir } from '../shared/private-files.js';
import { join } from 'node:path';
import { fromHex, toHex } from '../shared/bytes.js';
import { FileProblem, readJson, writeBytesAtomic, writeJsonAtomic } from '../shared/files.js';
import { issueCredential, newSerial, type Entitlement } from '../shared/credential.js';
import {
  generateKeyPair,
  keyId,
  publicKeyFromSecret,
  VerifyKey,
  type Alg,
  type KeyPair,
} from '../shared/keys.js';
import { assertSubject } from '../shared/ids.js';
import { signList } from '../shared/lists.js';
import type { TrustedIssuerKey } from '../shared/store.js';

interface KeyFile {
  alg: Alg;
  kid: string;
  secretKey: string;
  publicKey: string;
  createdAt: number;
}

export interface IssuedRecord {
  cti: string;
  sub: string;
  iat: number;
  exp: number;
  ent: Entitlement[];
}

export interface CardRecord {
  /** HMAC-SHA-256(uid, card key), hex. */
  h: string;
  sub: string;
  ent: Entitlement[];
  exp?: number;
  blocked?: boolean;
}

export const CARD_KEY_FILE = 'card-key.hex';

export interface IssuerState {
  issuer: string;
  revoked: string[];
  suspended: string[];
  versions: { trust: number; revocation: number; cards?: number };
  /** Card bindings by HMAC of the UID under the card key (never the UID itself). */
  cards?: CardRecord[];
  issued: IssuedRecord[];
}

function keyFile(k: KeyPair): KeyFile {
  return {
    alg: k.alg,
    kid: toHex(keyId(k.publicKey)),
    secretKey: toHex(k.secretKey),
    publicKey: toHex(k.publicKey),
    createdAt: Math.floor(Date.now() / 1000),
  };
}

function readKey(path: string, what: string): KeyPair {
  const f = readJson(path, what) as Partial<KeyFile>;
  if ((f.alg !== 'EdDSA' && f.alg !== 'ES256') || typeof f.secretKey !== 'string')
    throw new FileProblem(`${what} at ${path} is damaged (alg/secretKey missing)`);
  const secretKey = fromHex(f.secretKey, `${what}.secretKey`);
  return { alg: f.alg, secretKey, publicKey: publicKeyFromSecret(f.alg, secretKey) };
}

export class IssuerKeystore {
  private constructor(
    readonly dir: string,
    readonly issuerKey: KeyPair,
    readonly listKey: KeyPair,
    private state: IssuerState,
  ) {}

  static exists(dir: string): boolean {
    return existsSync(join(dir, 'issuer-key.json'));
  }

  /** Creates a new issuer: issuer key (EdDSA or ES256) and list key (always Ed25519). */
  static init(dir: string, opts: { alg: Alg; issuer: string }): IssuerKeystore {
    if (IssuerKeystore.exists(dir))
      throw new FileProblem(`an issuer already exists in ${dir}; use another --dir or remove it first`);
    privateDir(dir);
    const issuerKey = generateKeyPair(opts.alg);
    const listKey = generateKeyPair('EdDSA');
    writeJsonAtomic(join(dir, 'issuer-key.json'), keyFile(issuerKey), true);
    writeJsonAtomic(join(dir, 'list-key.json'), keyFile(listKey), true);
    writeFileSync(join(dir, CARD_KEY_FILE), toHex(new Uint8Array(randomBytes(32))) + '\n', { mode: 0o600 });
    const state: IssuerState = {
      issuer: opts.issuer,
      revoked: [],
      suspended: [],
      versions: { trust: 1, revocation: 1 },
      issued: [],
    };
    const ks = new IssuerKeystore(dir, issuerKey, listKey, state);
    ks.save();
    return ks;
  }

  static open(dir: string): IssuerKeystore {
    if (!IssuerKeystore.exists(dir))
      throw new FileProblem(`no issuer in ${dir}; create one with \`passgate issuer init --dir ${dir}\``);
    const issuerKey = readKey(join(dir, 'issuer-key.json'), 'issuer key');
    const listKey = readKey(join(dir, 'list-key.json'), 'list key');
    const state = readJson(join(dir, 'state.json'), 'issuer state') as IssuerState;
    return new IssuerKeystore(dir, issuerKey, listKey, state);
  }

  get issuer(): string {
    return this.state.issuer;
  }
  get versions(): Readonly<IssuerState['versions']> {
    return this.state.versions;
  }
  get revoked(): readonly string[] {
    return this.state.revoked;
  }
  get suspended(): readonly string[] {
    return this.state.suspended;
  }
  get issued(): readonly IssuedRecord[] {
    return this.state.issued;
  }

  get cards(): readonly CardRecord[] {
    return this.state.cards ?? [];
  }

  /** The fleet card key (created on first use in folders made before cards existed). Secret: 0600. */
  cardKey(): Uint8Array {
    const file = join(this.dir, CARD_KEY_FILE);
    if (!existsSync(file))
      writeFileSync(file, toHex(new Uint8Array(randomBytes(32))) + '\n', { mode: 0o600 });
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(text))
      throw new FileProblem(`${file} is damaged (expected 64 hex characters)`);
    return fromHex(text, CARD_KEY_FILE);
  }

  /**
   * Binds, blocks or unbinds a card; returns false when nothing changed. A block keeps the binding (the
   * terminal answers card_blocked); unbinding forgets it (card_unknown).
   */
  changeCard(
    uid: Uint8Array,
    change: { op: 'bind'; sub: string; ent: Entitlement[]; exp?: number } | { op: 'block' | 'unbind' },
  ): boolean {
    const h = toHex(cardHash(uid, this.cardKey()));
    const cards = [...(this.state.cards ?? [])];
    const i = cards.findIndex((c) => c.h === h);
    let next: CardRecord | undefined;
    if (change.op === 'bind')
      next = {
        h,
        sub: change.sub,
        ent: change.ent,
        ...(change.exp !== undefined ? { exp: change.exp } : {}),
      };
    else if (change.op === 'block') {
      if (i === -1) throw new FileProblem('this card is not bound; bind it before blocking it');
      next = { ...cards[i]!, blocked: true };
    }
    if (JSON.stringify(i === -1 ? undefined : cards[i]) === JSON.stringify(next)) return false;
    if (next && i === -1) cards.push(next);
    else if (next) cards[i] = next;
    else cards.splice(i, 1);
    this.state.cards = cards;
    this.state.versions.cards = (this.state.versions.cards ?? 1) + 1;
    this.save();
    return true;
  }

  trustedKey(): TrustedIssuerKey {
    return {
      kid: keyId(this.issuerKey.publicKey),
      alg: this.issuerKey.alg,
      publicKey: this.issuerKey.publicKey,
      issuer: this.issuer,
    };
  }

  issue(input: { sub: string; devicePublicKey: Uint8Array; ent: Entitlement[]; days: number; now: number }): {
    credential: Uint8Array;
    record: IssuedRecord;
  } {
    assertSubject(input.sub, 'sub');
    const cti = newSerial();
    const exp = input.now + Math.round(input.days * 86400);
    const credential = issueCredential(this.issuerKey, {
      iss: this.issuer,
      sub: input.sub,
      iat: input.now,
      nbf: input.now,
      exp,
      cti,
      devicePublicKey: input.devicePublicKey,
      ent: input.ent,
    });
    const record: IssuedRecord = { cti: toHex(cti), sub: input.sub, iat: input.now, exp, ent: input.ent };
    this.state.issued.push(record);
    this.save();
    return { credential, record };
  }

  /** Adds a serial to the revocation list; returns false when it was already revoked. */
  revoke(ctiHex: string): boolean {
    const cti = toHex(fromHex(ctiHex, 'cti'));
    if (cti.length !== 32) throw new RangeError('cti: a credential serial is 16 bytes (32 hex digits)');
    if (this.state.revoked.includes(cti)) return false;
    this.state.revoked.push(cti);
    this.state.versions.revocation++;
    this.save();
    return true;
  }

  suspend(sub: string): boolean {
    assertSubject(sub, 'sub');
    if (this.state.suspended.includes(sub)) return false;
    this.state.suspended.push(sub);
    this.state.versions.revocation++;
    this.save();
    return true;
  }

  /** Writes trust.cose, revocation.cose (signed snapshots) and list-key.json (the public key to pin). */
  writeLists(
    outDir: string,
    now: number,
  ): { trust: string; revocation: string; cards: string; listKey: string } {
    const trust = signList(this.listKey, {
      type: 'trust',
      version: this.state.versions.trust,
      issuedAt: now,
      snapshot: { keys: [this.trustedKey()] },
    });
    const revocation = signList(this.listKey, {
      type: 'revocation',
      version: this.state.versions.revocation,
      issuedAt: now,
      snapshot: { serials: this.state.revoked.map((c) => fromHex(c)), subjects: [...this.state.suspended] },
    });
    const cards = signList(this.listKey, {
      type: 'cards',
      version: this.state.versions.cards ?? 1,
      issuedAt: now,
      snapshot: encodeCardSnapshot(
        this.cards.map((c) => ({
          h: fromHex(c.h),
          sub: c.sub,
          ent: c.ent,
          blocked: c.blocked === true,
          ...(c.exp !== undefined ? { exp: c.exp } : {}),
        })),
      ),
    });
    const paths = {
      trust: join(outDir, 'trust.cose'),
      revocation: join(outDir, 'revocation.cose'),
      cards: join(outDir, 'cards.cose'),
      listKey: join(outDir, 'list-key.json'),
    };
    writeBytesAtomic(paths.trust, trust);
    writeBytesAtomic(paths.revocation, revocation);
    writeBytesAtomic(paths.cards, cards);
    writeJsonAtomic(paths.listKey, {
      alg: 'EdDSA',
      kid: toHex(keyId(this.listKey.publicKey)),
      publicKey: toHex(this.listKey.publicKey),
    });
    return paths;
  }

  publicKeys(): { issuer: VerifyKey; list: VerifyKey } {
    return {
      issuer: new VerifyKey(this.issuerKey.alg, this.issuerKey.publicKey),
      list: new VerifyKey('EdDSA', this.listKey.publicKey),
    };
  }

  private save(): void {
    // 0600: it lists every credential issued (serials, pseudonyms) and every revocation.
    writeJsonAtomic(join(this.dir, 'state.json'), this.state, true);
  }
}
