// The terminal's key files: its own Ed25519 signing key (JSON {alg, secretKey, publicKey} as written by
// `passgate terminal keygen` or the issuer keystore) and the optional fleet card key (64 hex characters).
import { existsSync, readFileSync } from 'node:fs';
import { fromHex, toHex } from '../shared/bytes.js';
import { writeJsonAtomic } from '../shared/files.js';
import { generateKeyPair, keyId, publicKeyFromSecret, type KeyPair } from '../shared/keys.js';

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

export function loadSigningKey(path: string): KeyPair {
  if (!existsSync(path))
    throw new KeyFileError(
      `signingKeyFile: ${path} not found; create it with \`passgate terminal keygen --out ${path}\``,
    );
  let f: { alg?: unknown; secretKey?: unknown };
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as typeof f;
  } catch (err) {
    throw new KeyFileError(`signingKeyFile: ${path} is not valid JSON (${(err as Error).message})`);
  }
  if (f.alg !== 'EdDSA') throw new KeyFileError(`signingKeyFile: ${path} must hold an EdDSA (Ed25519) key`);
  if (typeof f.secretKey !== 'string' || !/^[0-9a-fA-F]{64}$/.test(f.secretKey))
    throw new KeyFileError(`signingKeyFile: ${path} secretKey must be 64 hex characters`);
  const secretKey = fromHex(f.secretKey, 'secretKey');
  return { alg: 'EdDSA', secretKey, publicKey: publicKeyFromSecret('EdDSA', secretKey) };
}

/** Writes a signing key file atomically, 0600: a new key, or the one given (enrollment, rotation). */
export function writeSigningKey(path: string, k: KeyPair = generateKeyPair('EdDSA')): KeyPair {
  writeJsonAtomic(
    path,
    {
      alg: k.alg,
      kid: toHex(keyId(k.publicKey)),
      secretKey: toHex(k.secretKey),
      publicKey: toHex(k.publicKey),
      createdAt: Math.floor(Date.now() / 1000),
    },
    true,
  );
  return k;
}

export function loadCardKey(path: string): Uint8Array {
  if (!existsSync(path)) throw new KeyFileError(`cardKeyFile: ${path} not found`);
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new KeyFileError(`cardKeyFile: ${path} must hold 64 hex characters (a 32-byte key)`);
  return fromHex(text, 'cardKeyFile');
}
