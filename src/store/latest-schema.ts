/**
 * The schema pocketca's migrations leave (tables, indexes, triggers, views as
 * sqlite_master lists them, SQL with runs of whitespace as one space): what
 * every home at this version is compared with as it is opened, without
 * applying the migrations each time (src/store/schema.ts). Written by
 * `npm run latest-schema` (scripts/latest-schema.js); do not edit.
 */
export const LATEST_SCHEMA: { version: number; objects: readonly (readonly [type: string, name: string, table: string, sql: string | null])[] } = {
  version: 6,
  objects: [
    ["index","certificates_issued_at","certificates","CREATE INDEX certificates_issued_at ON certificates (issued_at, serial)"],
    ["index","certificates_name","certificates","CREATE INDEX certificates_name ON certificates (name)"],
    ["index","certificates_not_after","certificates","CREATE INDEX certificates_not_after ON certificates (not_after)"],
    ["index","events_at","events","CREATE INDEX events_at ON events (at)"],
    ["index","revocations_revoked_at","revocations","CREATE INDEX revocations_revoked_at ON revocations (revoked_at)"],
    ["index","sqlite_autoindex_certificate_ders_1","certificate_ders",null],
    ["index","sqlite_autoindex_certificates_1","certificates",null],
    ["index","sqlite_autoindex_certificates_2","certificates",null],
    ["index","sqlite_autoindex_revocations_1","revocations",null],
    ["index","sqlite_autoindex_settings_1","settings",null],
    ["table","certificate_ders","certificate_ders","CREATE TABLE certificate_ders ( serial TEXT PRIMARY KEY REFERENCES certificates (serial), der BLOB NOT NULL ) STRICT"],
    ["table","certificates","certificates","CREATE TABLE \"certificates\" ( serial TEXT PRIMARY KEY, name TEXT NOT NULL, profile TEXT NOT NULL CHECK (profile IN ('client', 'server', 'profile-signer', 'intermediate')), source TEXT NOT NULL CHECK (source IN ('issue', 'sign', 'renew', 'internal', 'scep')), subject TEXT NOT NULL, not_before TEXT NOT NULL, not_after TEXT NOT NULL, fingerprint_sha256 TEXT NOT NULL UNIQUE, issued_at TEXT NOT NULL ) STRICT"],
    ["table","crls","crls","CREATE TABLE crls ( number INTEGER PRIMARY KEY CHECK (number > 0), this_update TEXT NOT NULL, next_update TEXT NOT NULL, entries INTEGER NOT NULL, sha256 TEXT NOT NULL ) STRICT"],
    ["table","events","events","CREATE TABLE events ( id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, command TEXT NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')), serial TEXT, name TEXT, detail TEXT ) STRICT"],
    ["table","revocations","revocations","CREATE TABLE \"revocations\" ( serial TEXT PRIMARY KEY, revoked_at TEXT NOT NULL, reason TEXT NOT NULL ) STRICT"],
    ["table","settings","settings","CREATE TABLE settings ( key TEXT PRIMARY KEY, value TEXT NOT NULL ) STRICT"],
    ["table","sqlite_sequence","sqlite_sequence","CREATE TABLE sqlite_sequence(name,seq)"],
    ["trigger","revocations_permanent_delete","revocations","CREATE TRIGGER revocations_permanent_delete BEFORE DELETE ON revocations BEGIN SELECT RAISE(ABORT, 'a revocation is permanent'); END"],
    ["trigger","revocations_permanent_serial","revocations","CREATE TRIGGER revocations_permanent_serial BEFORE UPDATE OF serial ON revocations BEGIN SELECT RAISE(ABORT, 'a revocation is permanent'); END"],
  ],
};
