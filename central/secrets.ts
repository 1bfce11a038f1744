// Terminal MQTT secrets: random on creation (192 bits), stored only hashed. Central's own check uses
// HMAC-SHA-256 under a server-side key (`hmac$…`): for a 192-bit random secret a keyed fast hash is as
// strong as a slow one and costs microseconds instead of ~70 ms, so a login flood cannot queue honest
// logins behind it (issue 8 item 2). Hashes made before (`scrypt$…`) are still checked and replaced by
// the HMAC form on the terminal's next good login. The same secret is also hashed in mosquitto's
// PBKDF2-SHA512 form (`$7$`) so `central mosquitto-config` can write a password file without ever
// storing the secret itself. scrypt stays for anything a person chooses.
import {
  createHmac,
  hkdfSync,
  pbkdf2Sync,
  randomBytes,
  scrypt,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';

function scryptAsync(secret: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** log2 of scrypt's N. 14 is the library default (~16 MiB, tens of ms); tests and benches may lower it. */
export const DEFAULT_SCRYPT_COST = 14;

export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

export async function hashSecret(secret: string, cost = DEFAULT_SCRYPT_COST): Promise<string> {
  if (!Number.isInteger(cost) || cost < 10 || cost > 20)
    throw new RangeError('scrypt cost: an integer 10-20');
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, 32, { N: 2 ** cost, r: 8, p: 1, maxmem: 256 * 2 ** cost * 8 });
  return `scrypt$${cost}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/**
 * The server-side HMAC key for terminal secrets, derived from the list key's secret half (every central
 * worker holds the same list key, so every worker checks the same hashes; no extra file to lose).
 */
export function secretHmacKey(listSecretKey: Uint8Array): Buffer {
  return Buffer.from(
    hkdfSync('sha256', listSecretKey, Buffer.alloc(0), 'passgate terminal mqtt secret v1', 32),
  );
}

export function hmacSecretHash(secret: string, key: Uint8Array): string {
  return `hmac$${createHmac('sha256', key).update(secret, 'utf8').digest('base64url')}`;
}

export function isLegacyHash(stored: string): boolean {
  return stored.startsWith('scrypt$');
}

/** True when `secret` matches `stored` (hmac$… with `hmacKey`, or a legacy scrypt$…). Constant time. */
export async function checkSecret(secret: string, stored: string, hmacKey?: Uint8Array): Promise<boolean> {
  if (stored.startsWith('hmac$')) {
    if (!hmacKey) return false;
    const want = Buffer.from(stored);
    const got = Buffer.from(hmacSecretHash(secret, hmacKey));
    return got.length === want.length && timingSafeEqual(got, want);
  }
  const [scheme, costText, saltText, hashText] = stored.split('$');
  if (scheme !== 'scrypt' || !costText || !saltText || !hashText) return false;
  const cost = Number(costText);
  const expected = Buffer.from(hashText, 'base64url');
  if (!Number.isInteger(cost) || cost < 10 || cost > 20) return false;
  const got = await scryptAsync(secret, Buffer.from(saltText, 'base64url'), expected.length, {
    N: 2 ** cost,
    r: 8,
    p: 1,
    maxmem: 256 * 2 ** cost * 8,
  });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** mosquitto_passwd's format (mosquitto 2.0): `$7$iterations$salt$hash`, PBKDF2-SHA512, base64. */
export function mosquittoHash(secret: string, iterations = 101): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(secret, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}
