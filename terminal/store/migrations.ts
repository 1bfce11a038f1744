// Versioned schema for terminal.db, applied in order and recorded in PRAGMA user_version.
// Never edit a shipped migration: add a new one. Every table except outbox and meta is a cache that
// can be rebuilt from central; outbox and meta (seq counter, clock, occupancy) are the only copy.
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES
    ('last_seq', 0), ('acked_seq', 0), ('occupancy', 0), ('last_event_at', 0),
    ('last_good_ms', 0), ('beacon_seq', 0), ('beacon_t', 0), ('beacon_local', 0);
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE TABLE trust_keys (
    kid BLOB PRIMARY KEY,
    alg TEXT NOT NULL,
    public_key BLOB NOT NULL,
    issuer TEXT NOT NULL,
    not_before INTEGER,
    not_after INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE revoked_serials (serial BLOB PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE suspended_subjects (sub TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE card_bindings (h BLOB PRIMARY KEY, sub TEXT NOT NULL, blocked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
  CREATE TABLE list_versions (
    type TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    applied_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE policies (name TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
  CREATE TABLE replay_cache (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX replay_cache_expiry ON replay_cache (expires_at);
  CREATE TABLE verified_credentials (digest TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX verified_credentials_expiry ON verified_credentials (expires_at);
  CREATE TABLE passages (
    sub TEXT NOT NULL,
    gate TEXT NOT NULL,
    direction TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (sub, gate)
  ) WITHOUT ROWID;
  `,
  // 2: outbox damage count; the hold after a recovery that lost the seq counter (outbox-repo.ts).
  `
  INSERT OR IGNORE INTO meta (key, value) VALUES ('outbox_damaged', 0), ('seq_hold', 0), ('recovered_seq', 0);
  `,
  // 3: card bindings carry what the card entitles (JSON array of entitlements) and an expiry (unix s).
  `
  ALTER TABLE card_bindings ADD COLUMN ent TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE card_bindings ADD COLUMN exp INTEGER;
  `,
  // 4: ids of central's commands already run, until they expire: a captured signed command is refused
  // after a restart too (issue 8 item 8).
  `
  CREATE TABLE used_commands (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  `,
  // 5: library lists (items, member status) and the kiosk's own loans and returns (docs/library.md).
  `
  CREATE TABLE library_items (
    barcode TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    loanable INTEGER NOT NULL,
    hold_for TEXT
  ) WITHOUT ROWID;
  CREATE TABLE library_members (sub TEXT PRIMARY KEY, blocked INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE library_member_loans (
    sub TEXT NOT NULL,
    barcode TEXT NOT NULL,
    loaned_at INTEGER NOT NULL,
    due INTEGER NOT NULL,
    renewals INTEGER NOT NULL,
    PRIMARY KEY (sub, barcode)
  ) WITHOUT ROWID;
  CREATE INDEX library_member_loans_barcode ON library_member_loans (barcode);
  CREATE TABLE kiosk_loans (
    barcode TEXT PRIMARY KEY,
    sub TEXT NOT NULL,
    loaned_at INTEGER NOT NULL,
    due INTEGER NOT NULL,
    renewals INTEGER NOT NULL,
    seq INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX kiosk_loans_sub ON kiosk_loans (sub);
  CREATE TABLE kiosk_returns (barcode TEXT PRIMARY KEY, at INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE ils_queue (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Tables that can be rebuilt from central (lists) or that only hold short-lived caches. */
export const CACHE_TABLES = [
  'trust_keys',
  'revoked_serials',
  'suspended_subjects',
  'card_bindings',
  'list_versions',
  'policies',
  'replay_cache',
  'verified_credentials',
  'used_commands',
  'library_items',
  'library_members',
  'library_member_loans',
] as const;
