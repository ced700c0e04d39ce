-- pocketca schema v1. Forward only: never edit once landed; add 002_... instead.
-- Serials are lowercase hex text (up to 20 octets, more than an SQLite integer
-- holds); times are ISO-8601 UTC text; DER lives apart from the listed columns.

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE certificates (
  serial             TEXT PRIMARY KEY,
  name               TEXT NOT NULL,
  profile            TEXT NOT NULL CHECK (profile IN ('client', 'server', 'profile-signer')),
  source             TEXT NOT NULL CHECK (source IN ('issue', 'sign', 'renew', 'internal')),
  subject            TEXT NOT NULL,
  not_before         TEXT NOT NULL,
  not_after          TEXT NOT NULL,
  fingerprint_sha256 TEXT NOT NULL UNIQUE,
  issued_at          TEXT NOT NULL
) STRICT;
CREATE INDEX certificates_name ON certificates (name);
CREATE INDEX certificates_not_after ON certificates (not_after);

CREATE TABLE certificate_ders (
  serial TEXT PRIMARY KEY REFERENCES certificates (serial),
  der    BLOB NOT NULL
) STRICT;

CREATE TABLE revocations (
  serial     TEXT PRIMARY KEY REFERENCES certificates (serial),
  revoked_at TEXT NOT NULL,
  reason     TEXT NOT NULL
) STRICT;
CREATE INDEX revocations_revoked_at ON revocations (revoked_at);

CREATE TABLE crls (
  number      INTEGER PRIMARY KEY CHECK (number > 0),
  this_update TEXT NOT NULL,
  next_update TEXT NOT NULL,
  entries     INTEGER NOT NULL,
  sha256      TEXT NOT NULL
) STRICT;

CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      TEXT NOT NULL,
  command TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
  serial  TEXT,
  name    TEXT,
  detail  TEXT
) STRICT;
CREATE INDEX events_at ON events (at);
