// One-time enrollment codes: what `issuer enroll-code` prints and a technician types into `terminal
// enroll`. 80 random bits in Crockford's base32 (no I, L, O, U), shown as four groups of four joined by
// dashes, e.g. `7K3M-QX2B-9TFD-WA4H`. The alphabet has no "-" and a group never starts with one, so a
// code can never be taken for a command-line option (the old base64url codes started with "-" about one
// time in 64). Typing is forgiving: case, spaces, dashes and the look-alikes O→0, I/L→1 do not matter.
import { randomBytes } from 'node:crypto';

export const ENROLLMENT_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 16;
const CANONICAL = new RegExp(`^[${ENROLLMENT_CODE_ALPHABET}]{${LENGTH}}$`);

export function newEnrollmentCode(): string {
  // 32 symbols divide 256: taking the low 5 bits of each byte is uniform.
  const chars = [...randomBytes(LENGTH)].map((b) => ENROLLMENT_CODE_ALPHABET[b & 31]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/**
 * The form a code is hashed and looked up in. A code in the current format is upper-cased, stripped of
 * spaces and dashes, and look-alike letters are mapped; anything else (a code made before this format)
 * is only trimmed, so it still works exactly as printed.
 */
export function normalizeEnrollmentCode(input: string): string {
  const trimmed = input.trim();
  const folded = trimmed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return CANONICAL.test(folded) ? folded : trimmed;
}
