// Fleet-wide replay memory (issue 8 item 6). When a terminal commits a decision that consumed a
// presentation, its event carries the presentation's nonce; central relays the replay key (`cti:t:nonce`,
// as shared/verify.ts builds it) on `passgate/v1/replay`, signed with the list key every terminal pinned,
// and each terminal adds it to its replay cache. Bounded in count per message, in bytes and in lifetime.
import { asUint, decodeCbor, encodeCbor, isMap, wideUint, type CborLimits } from './cbor.js';
import { parseSign1, signSign1, verifySign1 } from './cose.js';
import { keyId, type KeyPair, type VerifyKey } from './keys.js';

export const MAX_RELAYED_KEYS = 1000;
/** A relayed key is kept at most this long by a terminal, whatever the message says. */
export const MAX_RELAYED_LIFETIME_S = 600;
export const RELAY_LIMITS: CborLimits = { maxBytes: 128 * 1024, maxDepth: 4, allowedTags: [18] };
const REPLAY_KEY = /^[0-9a-f]{2,64}:[0-9]{1,12}:[0-9a-f]{16}$/;

export interface RelayedKey {
  key: string;
  /** Unix seconds until which the key must be remembered. */
  expiresAt: number;
}

export function isReplayKey(v: unknown): v is string {
  return typeof v === 'string' && REPLAY_KEY.test(v);
}

export function signReplayKeys(listKey: KeyPair, keys: readonly RelayedKey[], t: number): Uint8Array {
  if (keys.length === 0 || keys.length > MAX_RELAYED_KEYS)
    throw new RangeError(`keys: 1-${MAX_RELAYED_KEYS} per message`);
  const payload = encodeCbor(
    new Map<string, unknown>([
      ['type', 'replay'],
      ['t', wideUint(t)],
      ['keys', keys.map((k) => [k.key, wideUint(k.expiresAt)])],
    ]),
  );
  return signSign1(listKey.alg, listKey.secretKey, payload, keyId(listKey.publicKey));
}

/**
 * Verifies a relay message with the pinned list key and returns its keys, each lifetime cut to
 * MAX_RELAYED_LIFETIME_S from `nowS`; a string saying why when refused.
 */
export function openReplayKeys(bytes: Uint8Array, listKey: VerifyKey, nowS: number): RelayedKey[] | string {
  let sign1;
  try {
    sign1 = parseSign1(bytes, RELAY_LIMITS);
  } catch (err) {
    return `malformed replay relay: ${(err as Error).message}`;
  }
  if (!verifySign1(sign1, listKey)) return 'replay relay signature does not verify with the pinned list key';
  let body: unknown;
  try {
    body = decodeCbor(sign1.payload, { ...RELAY_LIMITS, allowedTags: [] });
  } catch (err) {
    return `malformed replay relay payload: ${(err as Error).message}`;
  }
  if (!isMap(body) || body.get('type') !== 'replay') return 'not a replay relay message';
  const raw = body.get('keys');
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_RELAYED_KEYS)
    return `replay relay must hold 1-${MAX_RELAYED_KEYS} keys`;
  const out: RelayedKey[] = [];
  for (const item of raw as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2) return 'replay relay entry must be [key, expiresAt]';
    const [key, exp] = item as [unknown, unknown];
    const expiresAt = asUint(exp);
    if (!isReplayKey(key) || expiresAt === undefined) return 'replay relay entry is malformed';
    if (expiresAt < nowS) continue;
    out.push({ key, expiresAt: Math.min(expiresAt, nowS + MAX_RELAYED_LIFETIME_S) });
  }
  return out;
}
