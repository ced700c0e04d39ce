-- pocketca schema v5. Forward only: never edit once landed.
-- Two changes SQLite can only make by rebuilding a table
-- (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
-- Changes"; migrate() runs this with foreign keys off and checks them before
-- the step commits):
--
-- 1. Source 'scep': a certificate enrolled by `pocketca scep` is recorded as
--    such, so `show`, `list` and `renew` can tell it from one `sign` made
--    (SPEC third release). Records made before keep the source they have.
--
-- 2. A revocation no longer needs a certificate row. `restore --deployed-crl`
--    records what the proxy's CRL lists, serials the restored backup never
--    knew included (issued after it was made), and they must stay on every
--    later CRL: a revocation is permanent (RFC 5280 §3.3, no certificateHold).
CREATE TABLE certificates_new (
  serial             TEXT PRIMARY KEY,
  name               TEXT NOT NULL,
  profile            TEXT NOT NULL CHECK (profile IN ('client', 'server', 'profile-signer', 'intermediate')),
  source             TEXT NOT NULL CHECK (source IN ('issue', 'sign', 'renew', 'internal', 'scep')),
  subject            TEXT NOT NULL,
  not_before         TEXT NOT NULL,
  not_after          TEXT NOT NULL,
  fingerprint_sha256 TEXT NOT NULL UNIQUE,
  issued_at          TEXT NOT NULL
) STRICT;
INSERT INTO certificates_new (serial, name, profile, source, subject, not_before, not_after, fingerprint_sha256, issued_at)
  SELECT serial, name, profile, source, subject, not_before, not_after, fingerprint_sha256, issued_at FROM certificates;
DROP TABLE certificates;
ALTER TABLE certificates_new RENAME TO certificates;
CREATE INDEX certificates_name ON certificates (name);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_issued_at ON certificates (issued_at, serial);

CREATE TABLE revocations_new (
  serial     TEXT PRIMARY KEY,
  revoked_at TEXT NOT NULL,
  reason     TEXT NOT NULL
) STRICT;
INSERT INTO revocations_new (serial, revoked_at, reason) SELECT serial, revoked_at, reason FROM revocations;
DROP TABLE revocations;
ALTER TABLE revocations_new RENAME TO revocations;
CREATE INDEX revocations_revoked_at ON revocations (revoked_at);
