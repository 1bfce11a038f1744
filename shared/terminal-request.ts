// Requests a terminal makes of central's enrollment listener after it is enrolled (rotate its credentials,
// retire itself), signed with its enrollment key so no admin token ever sits on a terminal. The signed
// message names the action, the terminal, the time and (for a rotation) the new public key, so a
// signature can't be reused for another action, terminal or key, and goes stale after MAX_SKEW_MS.
import { fromHex, toHex } from './bytes.js';
import { sign, type KeyPair, type VerifyKey } from './keys.js';

export const TERMINAL_ACTIONS = ['rotate', 'rotate-commit', 'retire'] as const;
export type TerminalAction = (typeof TERMINAL_ACTIONS)[number];

/** A request older or newer than this (by central's clock) is refused. */
export const MAX_SKEW_MS = 5 * 60_000;

export interface TerminalRequest {
  action: TerminalAction;
  terminal: string;
  /** Unix ms when signed. */
  t: number;
  /** rotate: the new Ed25519 public key (64 hex). */
  publicKey?: string;
  /** rotate-commit, retire: how many events the terminal still holds (for central's log). */
  unsynced?: number;
  /** Ed25519 signature (128 hex) over requestMessage(). */
  sig: string;
}

export function requestMessage(r: Omit<TerminalRequest, 'sig'>): Uint8Array {
  return new TextEncoder().encode(
    ['passgate/v1/terminal-request', r.action, r.terminal, String(r.t), r.publicKey ?? ''].join('\n'),
  );
}

export function signTerminalRequest(key: KeyPair, r: Omit<TerminalRequest, 'sig'>): TerminalRequest {
  return { ...r, sig: toHex(sign(key.alg, key.secretKey, requestMessage(r))) };
}

/** Reads a request body; undefined names nothing wrong, a string says what is. */
export function parseTerminalRequest(body: Record<string, unknown>): TerminalRequest | string {
  const { action, terminal, t, publicKey, sig, unsynced } = body;
  if (typeof action !== 'string' || !(TERMINAL_ACTIONS as readonly string[]).includes(action))
    return `action: one of ${TERMINAL_ACTIONS.join(', ')}`;
  if (typeof terminal !== 'string' || terminal.length < 1 || terminal.length > 63)
    return 'terminal: the terminal id';
  if (typeof t !== 'number' || !Number.isSafeInteger(t)) return 't: unix milliseconds';
  if (typeof sig !== 'string' || !/^[0-9a-f]{128}$/.test(sig)) return 'sig: 128 hex characters';
  if (publicKey !== undefined && (typeof publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(publicKey)))
    return 'publicKey: 64 hex characters';
  if (action === 'rotate' && publicKey === undefined) return 'publicKey: required to rotate';
  if (unsynced !== undefined && (typeof unsynced !== 'number' || !Number.isSafeInteger(unsynced)))
    return 'unsynced: a count';
  return {
    action: action as TerminalAction,
    terminal,
    t,
    sig,
    ...(publicKey !== undefined ? { publicKey } : {}),
    ...(unsynced !== undefined ? { unsynced } : {}),
  };
}

/** Checks the signature and freshness; returns a reason when refused. */
export function checkTerminalRequest(r: TerminalRequest, key: VerifyKey, now: number): string | undefined {
  if (Math.abs(now - r.t) > MAX_SKEW_MS)
    return 'stale: the request time is more than 5 minutes off central (check the terminal clock)';
  const { sig, ...signed } = r;
  if (!key.verify(fromHex(sig, 'sig'), requestMessage(signed))) return 'bad_signature';
  return undefined;
}
