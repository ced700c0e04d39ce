/**
 * Is this database's schema (tables, indexes, triggers, views) exactly what
 * pocketca's migrations create at its user_version? Every command asks before
 * it uses a home (SPEC "The record cannot be bent behind pocketca's back"):
 * SQLite runs a planted trigger whatever trusted_schema says, so one that
 * deletes every new revocation (issue 16) would otherwise bend each later
 * command without a word; a view in a table's place, an index with another
 * collation or a CHECK dropped from a table are the same kind of change.
 *
 * The answer costs one read of sqlite_master, compared as text with the
 * schema LATEST_SCHEMA says the migrations leave (no hash: a digest would
 * cost more than the comparison, its first use loading OpenSSL's). Only a
 * database at another version (once, before it is upgraded) or one that
 * differs has the migrations applied to an in-memory database (~7-12 ms),
 * which is the authority: a stale LATEST_SCHEMA costs that time, never a
 * wrong answer.
 */
import Database from 'better-sqlite3';
import { DatabaseTooNewError } from '../errors';
import { loadMigrations, migrate, type Db, type Migration } from './database';
import { LATEST_SCHEMA } from './latest-schema';

/** One schema object as sqlite_master lists it, without its rootpage (where it happens to be stored). */
interface SchemaEntry {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/** A name from a hostile file, safe in a one-line message. */
const shown = (name: string): string => JSON.stringify(name.length > 64 ? name.slice(0, 64) + '...' : name).replace(/[^\x20-\x7e]/g, '?');

/** SQL text with runs of whitespace as one space: a layout change is not a schema change. */
const normalized = (sql: string | null): string | null => (sql === null ? null : sql.replace(/\s+/g, ' ').trim());

function schemaOf(db: Db): SchemaEntry[] {
  return db.prepare('SELECT type, name, tbl_name, sql FROM main.sqlite_master ORDER BY type, name').all() as SchemaEntry[];
}

const keyOf = (e: SchemaEntry): string => JSON.stringify([e.type, e.name]);

/** One object as LATEST_SCHEMA lists it: [type, name, table, SQL with runs of whitespace as one space]. */
export type CanonicalEntry = readonly [type: string, name: string, table: string, sql: string | null];

const canonical = (entries: readonly SchemaEntry[]): CanonicalEntry[] => entries.map((e) => [e.type, e.name, e.tbl_name, normalized(e.sql)]);

/** The schema the first `version` migrations create, on a fresh in-memory database. */
function expectedSchema(migrations: readonly Migration[], version: number): SchemaEntry[] {
  const fresh = new Database(':memory:');
  try {
    migrate(fresh, migrations.slice(0, version));
    return schemaOf(fresh);
  } finally {
    fresh.close();
  }
}

/** The schema the migrations leave, as LATEST_SCHEMA holds it (scripts/latest-schema.js writes it; a test compares). */
export function latestSchema(migrations: readonly Migration[] = loadMigrations()): { version: number; objects: CanonicalEntry[] } {
  return { version: migrations.length, objects: canonical(expectedSchema(migrations, migrations.length)) };
}

/** LATEST_SCHEMA's objects as one string, made on first use. */
let latestText: string | undefined;

/**
 * How the schema of `db` differs from the one pocketca's migrations create up
 * to the database's own user_version, each difference named ("an extra
 * trigger \"keep_mine\"", "a changed index \"certificates_name\"", "no table
 * \"crls\""); empty when it is the same. `db` should be open with
 * trusted_schema off and not yet migrated: a migration runs only on a schema
 * checked at its own version. A version newer than the migrations is
 * DatabaseTooNewError.
 */
export function schemaDifferences(db: Db): string[] {
  const version = db.pragma('user_version', { simple: true }) as number;
  const actual = schemaOf(db);
  if (version === LATEST_SCHEMA.version && JSON.stringify(canonical(actual)) === (latestText ??= JSON.stringify(LATEST_SCHEMA.objects))) return [];
  const migrations = loadMigrations();
  if (version > migrations.length) {
    throw new DatabaseTooNewError(`database schema version ${version} is newer than this pocketca knows (${migrations.length})`, 'upgrade pocketca');
  }
  if (version < 1) return ['it has no pocketca schema version (user_version 0)'];
  const expected = new Map(expectedSchema(migrations, version).map((e) => [keyOf(e), e]));
  const found = new Map(actual.map((e) => [keyOf(e), e]));
  const differences: string[] = [];
  for (const [key, entry] of found) {
    const want = expected.get(key);
    if (!want) differences.push(`an extra ${entry.type} ${shown(entry.name)}`);
    else if (want.tbl_name !== entry.tbl_name || normalized(want.sql) !== normalized(entry.sql)) differences.push(`a changed ${entry.type} ${shown(entry.name)}`);
  }
  for (const [key, entry] of expected) if (!found.has(key)) differences.push(`no ${entry.type} ${shown(entry.name)}`);
  return differences;
}
