// Signed requests from an enrolled terminal to central's enrollment listener (rotate, retire), over
// HTTPS pinned to the fingerprint recorded at enrollment.
import type { KeyPair } from '../shared/keys.js';
import { signTerminalRequest, type TerminalAction } from '../shared/terminal-request.js';
import { showFingerprint } from '../shared/enrollment-string.js';
import { Refused } from './errors.js';
import { PinMismatch, pinnedPost, Unreachable } from './pinned.js';
import type { ProvisionRecord } from './terminal-dir.js';

export interface CentralAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function askCentral(
  record: ProvisionRecord,
  key: KeyPair,
  action: TerminalAction,
  extra: { publicKey?: string; unsynced?: number } = {},
): Promise<CentralAnswer> {
  const req = signTerminalRequest(key, { action, terminal: record.terminalId, t: Date.now(), ...extra });
  try {
    return await pinnedPost(record.enroll, '/terminal', req);
  } catch (err) {
    if (err instanceof PinMismatch)
      throw new Refused(
        'pin_mismatch',
        `central at ${record.enroll.host}:${record.enroll.port} presents certificate ${showFingerprint(err.got)}, ` +
          "not the one pinned at enrollment: nothing was sent. Check with central's operator.",
      );
    if (err instanceof Unreachable)
      throw new Refused('unreachable', `central's enrollment listener: ${err.message}`);
    throw err;
  }
}

export function answerMessage(a: CentralAnswer): string {
  return typeof a.body.message === 'string' ? a.body.message : `HTTP ${a.status}`;
}
