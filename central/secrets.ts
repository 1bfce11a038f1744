// Terminal MQTT secrets: random on creation, stored only hashed. scrypt for central's own check; the
// same secret is also hashed in mosquitto's PBKDF2-SHA512 form (`$7$`) so `central mosquitto-config`
// can write a password file without ever storing the secret itself.
import {
  createHash,
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

export async function checkSecret(secret: string, stored: string): Promise<boolean> {
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

/**
 * Remembers secrets that already passed scrypt (as a SHA-256 digest), so a reconnect storm of 1,000
 * terminals does not cost 1,000 scrypt runs. Cleared for a terminal when its secret changes.
 */
export class SecretCache {
  private readonly ok = new Map<string, Buffer>();

  constructor(private readonly max = 100_000) {}

  has(user: string, secret: string): boolean {
    const d = this.ok.get(user);
    return d !== undefined && timingSafeEqual(d, digest(secret));
  }

  remember(user: string, secret: string): void {
    if (this.ok.size >= this.max) this.ok.clear();
    this.ok.set(user, digest(secret));
  }

  forget(user: string): void {
    this.ok.delete(user);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
