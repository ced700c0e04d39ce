-- pocketca schema v4. Forward only: never edit once landed.
-- Profile 'intermediate': a subordinate CA signed for an online issuing tier
-- (SPEC "An offline root over an online issuing tier"). SQLite cannot alter
-- a CHECK constraint, so the table is rebuilt as sqlite.org/lang_altertable.html
-- "Making Other Kinds Of Table Schema Changes" says: migrate() runs this with
-- foreign keys off and checks them before the step commits.
-- certificate_ders and revocations reference certificates(serial) by name,
-- so they bind to the rebuilt table.
CREATE TABLE certificates_new (
  serial             TEXT PRIMARY KEY,
  name               TEXT NOT NULL,
  profile            TEXT NOT NULL CHECK (profile IN ('client', 'server', 'profile-signer', 'intermediate')),
  source             TEXT NOT NULL CHECK (source IN ('issue', 'sign', 'renew', 'internal')),
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
