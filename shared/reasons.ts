// Stable reason codes. Logs, events, metrics and CLI output carry these strings; never rename one.
export const TOKEN_REASONS = [
  'malformed',
  'unsupported_version',
  'unknown_issuer',
  'bad_issuer_signature',
  'not_yet_valid',
  'cert_expired',
  'revoked',
  'member_suspended',
  'bad_device_signature',
  'stale',
  'future',
  'replayed',
  'not_entitled',
] as const;

export const POLICY_REASONS = [
  'anti_passback',
  'capacity_full',
  'clock_untrusted',
  'lists_stale',
  'lists_missing',
  'storage_failure',
  'internal_error',
] as const;
export const CARD_REASONS = ['card_unknown', 'card_blocked'] as const;
export const LIBRARY_REASONS = [
  'item_unknown',
  'item_not_loanable',
  'loan_limit',
  'member_blocked',
  'renew_refused',
] as const;

export type TokenReason = (typeof TOKEN_REASONS)[number];
export type DenyReason =
  | TokenReason
  | (typeof POLICY_REASONS)[number]
  | (typeof CARD_REASONS)[number]
  | (typeof LIBRARY_REASONS)[number];
export type Reason = 'ok' | DenyReason;

export const ALL_REASONS: readonly Reason[] = [
  'ok',
  ...TOKEN_REASONS,
  ...POLICY_REASONS,
  ...CARD_REASONS,
  ...LIBRARY_REASONS,
];

/** Plain words for people at the gate and in CLI output. */
export const REASON_TEXT: Record<Reason, string> = {
  ok: 'accepted',
  malformed: 'not a readable passgate code',
  unsupported_version: 'code format or algorithm this terminal does not support',
  unknown_issuer: 'issued by an issuer this terminal does not trust',
  bad_issuer_signature: "the issuer's signature does not match (altered or forged credential)",
  not_yet_valid: 'credential is not valid yet',
  cert_expired: 'credential has expired',
  revoked: 'credential has been revoked',
  member_suspended: 'member is suspended',
  bad_device_signature: "the phone's signature does not match (copied or altered code)",
  stale: 'code is too old (a screenshot?); show the live code',
  future: "code is dated in the future; check the phone's clock",
  replayed: 'code was already used; show the live code',
  not_entitled: 'credential does not cover this place or service',
  anti_passback: 'already entered here a moment ago',
  capacity_full: 'venue is at capacity',
  clock_untrusted: 'terminal cannot trust its clock and policy says fail closed',
  lists_stale: 'terminal lists are too old and policy says fail closed',
  lists_missing:
    "terminal's trust list is missing or older than central's: check its link to central (passgate terminal status) or load lists (passgate terminal load-lists)",
  storage_failure: 'terminal could not record the decision',
  internal_error: 'terminal could not decide (a fault it logged); the gate stays closed',
  card_unknown: 'card is not bound to a member',
  card_blocked: 'card is blocked (reported lost or unbound)',
  item_unknown: 'item is not in the catalogue',
  item_not_loanable: 'item cannot be borrowed',
  loan_limit: 'loan limit reached',
  member_blocked: 'member is blocked from borrowing',
  renew_refused: 'loan cannot be renewed',
};
