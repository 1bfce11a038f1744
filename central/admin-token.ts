// The admin API's bearer token: 32 random bytes (hex) in DATA/admin.token, readable by the owner only,
// created on first start. Whoever can read the data folder can administer central.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin.token';
const TOKEN = /^[0-9a-f]{64}$/;

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

export function loadOrCreateAdminToken(dataDir: string): string {
  const file = adminTokenPath(dataDir);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (!TOKEN.test(token))
      throw new RangeError(`${file}: expected 64 hex characters; delete the file to make a new token`);
    chmodSync(file, 0o600);
    return token;
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return token;
}

/** Constant-time check of an `Authorization: Bearer …` header against the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!, 'utf8');
  const want = Buffer.from(token, 'utf8');
  return given.length === want.length && timingSafeEqual(given, want);
}
