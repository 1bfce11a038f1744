// Signed time beacons: central tells terminals the time, signed by the list key the terminal pinned.
import { asUint, decodeCbor, encodeCbor, isMap, wideUint } from './cbor.js';
import { parseSign1, signSign1, verifySign1 } from './cose.js';
import { keyId, type KeyPair, type VerifyKey } from './keys.js';

export interface TimeBeacon {
  /** Unix milliseconds at central when signed. */
  t: number;
  /** Strictly increasing per central; lets a terminal ignore a replayed old beacon. */
  seq: number;
  /**
   * The list versions central has published (type → version), so a terminal knows when its own lists are
   * behind (a lost or late delta) instead of blaming a credential. Optional: older centrals omit it.
   */
  lists?: Record<string, number>;
}

const MAX_BEACON_LISTS = 8;

export function signBeacon(listKey: KeyPair, beacon: TimeBeacon): Uint8Array {
  const payload = encodeCbor(
    new Map<string, unknown>([
      ['type', 'time'],
      ['t', wideUint(beacon.t)],
      ['seq', wideUint(beacon.seq)],
      ...(beacon.lists ? [['lists', new Map(Object.entries(beacon.lists))] as [string, unknown]] : []),
    ]),
  );
  return signSign1(listKey.alg, listKey.secretKey, payload, keyId(listKey.publicKey));
}

/** Returns the beacon, or a string saying why it was refused. */
export function openBeacon(bytes: Uint8Array, listKey: VerifyKey): TimeBeacon | string {
  try {
    const sign1 = parseSign1(bytes);
    if (!verifySign1(sign1, listKey)) return 'beacon signature does not verify with the pinned list key';
    const body = decodeCbor(sign1.payload);
    if (!isMap(body) || body.get('type') !== 'time') return 'not a time beacon';
    const t = asUint(body.get('t'));
    const seq = asUint(body.get('seq'));
    if (t === undefined || seq === undefined) return 'beacon t and seq must be integers';
    const raw = body.get('lists');
    if (raw === undefined) return { t, seq };
    if (!isMap(raw) || raw.size > MAX_BEACON_LISTS) return 'beacon lists must be a small map';
    const lists: Record<string, number> = {};
    for (const [type, version] of raw) {
      const v = asUint(version);
      if (typeof type !== 'string' || !/^[a-z]{1,16}$/.test(type) || v === undefined)
        return 'beacon lists must map list types to versions';
      lists[type] = v;
    }
    return { t, seq, lists };
  } catch (err) {
    return `malformed beacon: ${(err as Error).message}`;
  }
}
