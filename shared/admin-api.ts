// The admin HTTP contract between central and its clients (the CLI, terminal enrollment, provisioning):
// routes, request bodies read field by field from untrusted JSON, and the response shapes. The
// counterpart of shared/sync.ts for HTTP. A bad field is an InvalidInput naming it (HTTP 400).
import { fromHex } from './bytes.js';
import { InvalidInput } from './errors.js';
import { assertRole, assertSubject, assertTerminalId } from './ids.js';
import type { Alg } from './keys.js';
import { parseUid } from './cards.js';
import { readEntitlements, type Entitlement } from './credential.js';

export const ADMIN_ROUTES = {
  healthz: '/healthz',
  status: '/status',
  revoke: '/revoke',
  unrevoke: '/unrevoke',
  suspend: '/suspend',
  unsuspend: '/unsuspend',
  issuerKeys: '/issuer-keys',
  terminals: '/terminals',
  enrollCodes: '/enroll-codes',
  command: '/command',
  enroll: '/enroll',
  cardBind: '/cards/bind',
  cardBlock: '/cards/block',
  cardUnbind: '/cards/unbind',
  /** GET: the newest alerts (docs/security.md). */
  alerts: '/alerts',
  acceptGap: '/accept-gap',
  retire: '/retire',
} as const;

/** Largest request body central reads. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;
/** Longest validity of an enrollment code. */
export const MAX_CODE_TTL_SECONDS = 30 * 86_400;

export type AdminBody = Record<string, unknown>;

/** Parses a request body: empty is {}, anything but a JSON object is refused. */
export function parseAdminBody(text: string): AdminBody {
  if (text.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidInput('body', 'not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InvalidInput('body', 'expected a JSON object');
  return v as AdminBody;
}

function text(b: AdminBody, field: string, max = 256): string {
  const v = b[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new InvalidInput(field, `required text of at most ${max} characters`);
  return v;
}

function optInt(b: AdminBody, field: string): number | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new InvalidInput(field, 'a non-negative integer');
  return v;
}

function alg(b: AdminBody): Alg {
  const v = b.alg ?? 'EdDSA';
  if (v !== 'EdDSA' && v !== 'ES256') throw new InvalidInput('alg', 'EdDSA or ES256');
  return v;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

function hexField(b: AdminBody, field: string): Uint8Array {
  const v = text(b, field, 256);
  if (!HEX.test(v)) throw new InvalidInput(field, 'expected an even-length hex string');
  return fromHex(v, field);
}

// ---- Requests ----------------------------------------------------------------------------------

/** POST /revoke and /unrevoke. */
export interface SerialRequest {
  cti: string;
}
export const readSerialRequest = (b: AdminBody): SerialRequest => ({ cti: text(b, 'cti', 32) });

/** POST /suspend and /unsuspend. */
export interface SubjectRequest {
  sub: string;
}
export const readSubjectRequest = (b: AdminBody): SubjectRequest => ({
  sub: checked(b, 'sub', assertSubject),
});

/** A text field checked by its validator in shared/ids.ts (the same rules as the CLI and the config). */
function checked(b: AdminBody, field: string, assert: (v: unknown, field: string) => void): string {
  const v = text(b, field, 128);
  assert(v, field);
  return v;
}

/** POST /cards/bind, /cards/block, /cards/unbind: the card's UID (hex), and for bind who and what. */
export interface CardRequest {
  uid: Uint8Array;
  sub?: string;
  ent?: Entitlement[];
  /** Unix seconds after which the binding opens nothing. */
  exp?: number;
}
export function readCardRequest(b: AdminBody, binding: boolean): CardRequest {
  const uid = parseUid(text(b, 'uid', 20));
  if (!uid) throw new InvalidInput('uid', 'a card UID of 4, 7 or 10 bytes in hex');
  if (!binding) return { uid };
  const sub = text(b, 'sub', 64);
  assertSubject(sub, 'sub');
  const ent = readEntitlements(
    Array.isArray(b.ent) ? (b.ent as unknown[]).map((e) => new Map(Object.entries(e as object))) : b.ent,
  );
  if (typeof ent === 'string') throw new InvalidInput('ent', ent);
  const exp = optInt(b, 'exp');
  return { uid, sub, ent, ...(exp !== undefined ? { exp } : {}) };
}

/** POST /issuer-keys. */
export interface IssuerKeyRequest {
  alg: Alg;
  publicKey: Uint8Array;
  issuer: string;
  notBefore?: number;
  notAfter?: number;
}
export function readIssuerKeyRequest(b: AdminBody): IssuerKeyRequest {
  const r: IssuerKeyRequest = {
    alg: alg(b),
    publicKey: hexField(b, 'publicKey'),
    issuer: text(b, 'issuer', 128),
  };
  const notBefore = optInt(b, 'notBefore');
  const notAfter = optInt(b, 'notAfter');
  if (notBefore !== undefined) r.notBefore = notBefore;
  if (notAfter !== undefined) r.notAfter = notAfter;
  return r;
}

/** POST /terminals. */
export interface AddTerminalRequest {
  id: string;
  role: string;
  publicKey: Uint8Array;
  alg: Alg;
}
export const readAddTerminalRequest = (b: AdminBody): AddTerminalRequest => ({
  id: checked(b, 'id', assertTerminalId),
  role: checked(b, 'role', assertRole),
  publicKey: hexField(b, 'publicKey'),
  alg: alg(b),
});

/** POST /enroll-codes. */
export interface EnrollCodeRequest {
  terminal: string;
  role: string;
  ttlSeconds?: number;
}
export function readEnrollCodeRequest(b: AdminBody): EnrollCodeRequest {
  const ttl = optInt(b, 'ttlSeconds');
  if (ttl !== undefined && (ttl < 1 || ttl > MAX_CODE_TTL_SECONDS))
    throw new InvalidInput('ttlSeconds', `between 1 and ${MAX_CODE_TTL_SECONDS} (30 days)`);
  return {
    terminal: checked(b, 'terminal', assertTerminalId),
    role: checked(b, 'role', assertRole),
    ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
  };
}

/** POST /command. */
export interface CommandRequest {
  terminal: string;
  command: string;
}
export const readCommandRequest = (b: AdminBody): CommandRequest => ({
  terminal: checked(b, 'terminal', assertTerminalId),
  command: text(b, 'command', 32),
});

/** POST /accept-gap (disaster recovery: the terminal continues from `from`). */
export interface AcceptGapRequest {
  terminal: string;
  from: number;
}
export function readAcceptGapRequest(b: AdminBody): AcceptGapRequest {
  const from = optInt(b, 'from');
  if (from === undefined || from < 1)
    throw new InvalidInput('from', 'the first seq the terminal still holds');
  return { terminal: text(b, 'terminal', 63), from };
}
export interface AcceptGapResponse {
  before: number;
  after: number;
}

/** POST /retire. */
export const readRetireRequest = (b: AdminBody): { terminal: string } => ({
  terminal: text(b, 'terminal', 63),
});
export interface RetireResponse {
  retired: boolean;
  retiredAt: number;
}

/** POST /enroll (a terminal redeeming its one-time code; no admin token). */
export interface EnrollRequest {
  code: string;
  publicKey: Uint8Array;
  alg: Alg;
}
export const readEnrollRequest = (b: AdminBody): EnrollRequest => ({
  code: text(b, 'code', 64),
  publicKey: hexField(b, 'publicKey'),
  alg: alg(b),
});

// ---- Responses ---------------------------------------------------------------------------------

/** /revoke, /unrevoke, /suspend, /unsuspend, /issuer-keys: the list version that carries the change. */
export interface ListVersionResponse {
  version: number;
}

/** /terminals: the terminal's MQTT credentials (the password is shown once). */
export interface TerminalCredentials {
  terminalId: string;
  username: string;
  password: string;
}

/** /enroll: what a terminal needs to connect. */
export interface EnrollmentResult extends TerminalCredentials {
  /** Hex of the list key's Ed25519 public key: the terminal pins it. */
  listKey: string;
  listKeyAlg: Alg;
  /** Hex of the fleet card key (32 bytes): the terminal hashes card UIDs with it. A secret: stored 0600. */
  cardKey?: string;
  mqtt: { url: string; protocolVersion: 4 | 5 };
  config: { role: string; heartbeatMs: number };
}

/** /enroll-codes. */
export interface EnrollCodeResponse {
  code: string;
}

/** /command. */
export interface CommandResponse {
  sent: true;
  terminal: string;
  command: string;
  online: boolean;
}

/** Every error reply: a stable code and a message for people. */
export interface AdminErrorResponse {
  error: 'invalid' | 'unauthorized' | 'not_found' | 'internal';
  message: string;
}
