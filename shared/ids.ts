// One validator per concept of the vocabulary: terminal id, role, gate, direction, member pseudonym.
// The terminal config schema, the admin API, the CLI, enrollment and the lists all use these, so a value
// accepted in one place is accepted everywhere and a refused one is refused with the same words.
import { InvalidInput } from './errors.js';

/** Terminal ids: also MQTT usernames and topic segments, so no '/', '+', '#' or upper case. */
export const TERMINAL_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
const TERMINAL_ID = new RegExp(TERMINAL_ID_PATTERN);
/** Ids that name central's own clients or could be confused with them; never a terminal's. */
export const RESERVED_TERMINAL_IDS: readonly string[] = ['central', 'admin', 'root', 'broker', 'passgate'];

export const ROLES = ['turnstile', 'kiosk', 'counter'] as const;
export type Role = (typeof ROLES)[number];

export const DIRECTIONS = ['in', 'out'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Gate names: shown in events and status; printable ASCII without spaces. */
export const GATE_PATTERN = '^[A-Za-z0-9._-]{1,64}$';
const GATE = new RegExp(GATE_PATTERN);

/** Member pseudonyms (CWT `sub`): never a name or an ID number, so a short opaque token. */
export const SUBJECT_PATTERN = '^[A-Za-z0-9_.:-]{3,64}$';
const SUBJECT = new RegExp(SUBJECT_PATTERN);

export function isTerminalId(value: unknown): value is string {
  return typeof value === 'string' && TERMINAL_ID.test(value) && !RESERVED_TERMINAL_IDS.includes(value);
}

export function assertTerminalId(value: unknown, field = 'terminal'): asserts value is string {
  if (typeof value !== 'string' || !TERMINAL_ID.test(value))
    throw new InvalidInput(
      field,
      `"${String(value)}" is not a terminal id: 1-63 lowercase letters, digits or dashes, starting with a letter or digit`,
    );
  if (RESERVED_TERMINAL_IDS.includes(value))
    throw new InvalidInput(field, `"${value}" is reserved and cannot name a terminal`);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function assertRole(value: unknown, field = 'role'): asserts value is Role {
  if (!isRole(value))
    throw new InvalidInput(field, `"${String(value)}" is not a role; use one of ${ROLES.join(', ')}`);
}

export function isDirection(value: unknown): value is Direction {
  return value === 'in' || value === 'out';
}

export function assertDirection(value: unknown, field = 'direction'): asserts value is Direction {
  if (!isDirection(value))
    throw new InvalidInput(field, `"${String(value)}" is not a direction; use in or out`);
}

export function isGate(value: unknown): value is string {
  return typeof value === 'string' && GATE.test(value);
}

export function assertGate(value: unknown, field = 'gate'): asserts value is string {
  if (!isGate(value))
    throw new InvalidInput(
      field,
      `"${String(value)}" is not a gate name: 1-64 letters, digits, dot, dash or underscore`,
    );
}

export function isSubject(value: unknown): value is string {
  return typeof value === 'string' && SUBJECT.test(value);
}

export function assertSubject(value: unknown, field = 'sub'): asserts value is string {
  if (!isSubject(value))
    throw new InvalidInput(
      field,
      `"${String(value)}" is not a member pseudonym: 3-64 letters, digits or _.:- (never a name or ID number)`,
    );
}
