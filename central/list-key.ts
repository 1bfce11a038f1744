// Central's list key (signs lists and time beacons): given by the caller (from the issuer folder) or
// kept in the data folder, created on first start, readable by the owner only.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fromHex, toHex } from '../shared/bytes.js';
import { FileProblem, readJsonObject } from '../shared/files.js';
import { generateKeyPair, publicKeyFromSecret, type KeyPair } from '../shared/keys.js';

export const LIST_KEY_FILE = 'list-key.json';
export const CARD_KEY_FILE = 'card-key.hex';

/** The fleet card key (32 bytes, hex in card-key.hex, 0600): created on first start. */
export function loadOrCreateCardKey(dataDir: string): Uint8Array {
  const file = join(dataDir, CARD_KEY_FILE);
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new RangeError(`${file}: expected 64 hex characters`);
    return fromHex(text, file);
  }
  const key = new Uint8Array(randomBytes(32));
  writeFileSync(file, toHex(key) + '\n', { mode: 0o600 });
  return key;
}

export function loadOrCreateListKey(dataDir: string): KeyPair {
  const file = join(dataDir, LIST_KEY_FILE);
  if (existsSync(file)) {
    const j = readJsonObject(file, "central's list key");
    if (j.alg !== 'EdDSA' || typeof j.secretKey !== 'string' || !/^[0-9a-fA-F]{64}$/.test(j.secretKey))
      throw new FileProblem(`${file}: expected {"alg":"EdDSA","secretKey":"<64 hex characters>"}`);
    const secretKey = fromHex(j.secretKey, `${file} secretKey`);
    return { alg: 'EdDSA', secretKey, publicKey: publicKeyFromSecret('EdDSA', secretKey) };
  }
  const key = generateKeyPair('EdDSA');
  writeFileSync(
    file,
    JSON.stringify(
      { alg: key.alg, secretKey: toHex(key.secretKey), publicKey: toHex(key.publicKey) },
      null,
      2,
    ) + '\n',
    { mode: 0o600 },
  );
  return key;
}
