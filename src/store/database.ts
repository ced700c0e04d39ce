/**
 * Opening the database and applying migrations/NNN_name.sql in order, each in
 * one transaction, tracked with PRAGMA user_version. A database newer than the
 * code is refused. The store knows nothing of node-forge: it keeps DER and the
 * columns that are listed and filtered on.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fchmodSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseError, DatabaseTooNewError } from '../errors';
import { asDatabaseError } from './sqlite-errors';

export type Db = Database.Database;

export const MIGRATIONS_DIR = resolve(__dirname, '..', '..', '..', 'migrations');

/** SQLite's page cache, in KiB. */
const PAGE_CACHE_KIB = 2048;

/** How long a writer waits for another process's transaction (SQLite busy_timeout). */
const BUSY_TIMEOUT_MS = 30_000;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .map((file) => /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, m[0]), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 001, 002, ... without gaps: ${m.version} at ${i + 1}`);
  });
  return migrations;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Create an empty database file 0600 unless one is there. SQLite would make
 * it 0644 less the umask, and its -wal and -shm files take the database
 * file's mode (unix VFS findCreateFileMode, fchmod over the umask), so a file
 * made private first keeps all three private from their first byte.
 */
function createPrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new DatabaseError(`cannot create database ${path}: ${describe(error)}`);
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/**
 * Open (and with `create`, create 0600) the database, switch to WAL and migrate.
 * `create: false` refuses a missing file instead of making an empty one.
 */
export interface OpenDatabaseOptions {
  /** Create the file if it is missing; false refuses a missing file. */
  create: boolean;
  /** Open read-only (no WAL switch); default false. */
  readonly?: boolean;
  /**
   * SQLite's trusted_schema; default false, for every database: a home copied
   * with rsync, or on a stick someone else had, is as foreign as a backup.
   * Set before anything is read, it refuses functions with side effects and
   * virtual tables used from the schema (views, triggers, CHECK, defaults),
   * https://sqlite.org/pragma.html#pragma_trusted_schema, and each b-tree
   * cell's size is checked as it is read (a hostile file is refused, not
   * misread). It does not stop a plain-SQL trigger: compare the schema before
   * migrating or using it (schemaDifferences, src/store/schema.ts).
   */
  trustedSchema?: boolean;
  /** Apply the migrations; default true. False to look at the schema as it is first. */
  migrate?: boolean;
}

export function openDatabase(path: string, options: OpenDatabaseOptions = { create: false }): Db {
  if (!options.create && !existsSync(path)) {
    throw new DatabaseError(`database ${path} is missing`, 'restore it with `pocketca restore`, or create a CA with `pocketca init`');
  }
  if (options.create) createPrivateFile(path);
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: !options.create, timeout: BUSY_TIMEOUT_MS, readonly: options.readonly ?? false });
  } catch (error) {
    throw new DatabaseError(`cannot open database ${path}: ${describe(error)}`);
  }
  try {
    if (options.trustedSchema !== true) {
      db.pragma('trusted_schema = OFF');
      db.pragma('cell_size_check = ON');
    }
    if (!options.readonly) {
      // WAL lets readers and one writer work at once; the mode is stored in the file.
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    }
    db.pragma('foreign_keys = ON');
    // SQLite's default here is a 16 MiB page cache, which a scan of 100,000
    // certificates fills with memory the process touches for the first time;
    // that costs more than re-reading pages from the OS cache (issue 6).
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    if (options.migrate !== false) migrate(db);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof DatabaseTooNewError || error instanceof DatabaseError) throw error;
    throw asDatabaseError(error, path) ?? new DatabaseError(`database ${path}: ${describe(error)}`);
  }
}

export function migrate(db: Db, migrations: Migration[] = loadMigrations()): void {
  const latest = migrations.length;
  const current = () => db.pragma('user_version', { simple: true }) as number;
  if (current() > latest) {
    throw new DatabaseTooNewError(
      `database schema version ${current()} is newer than this pocketca knows (${latest})`,
      'upgrade pocketca',
    );
  }
  if (current() === latest) return;
  // A migration that rebuilds a table (005) needs foreign keys off, and that
  // cannot change inside a transaction (sqlite.org/lang_altertable.html, the
  // 12 steps); each step checks the references itself before it commits.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    for (const migration of migrations) {
      // IMMEDIATE takes the write lock first, so two processes never apply the same step.
      db.transaction(() => {
        if (current() >= migration.version) return;
        db.exec(migration.sql);
        if ((db.pragma('foreign_key_check') as unknown[]).length > 0) {
          throw new DatabaseError(`migration ${migration.version} (${migration.name}) would break references between tables; nothing was changed`);
        }
        db.pragma(`user_version = ${migration.version}`);
      }).immediate();
    }
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * db.prepare once per database and SQL text. Compiling a statement costs
 * more than running it: `restore` of 100,000 revocations spent 10 of its 22
 * seconds preparing the same three statements (issue 16). Only for
 * get/run/all: a statement that is iterating cannot run again meanwhile.
 */
export function prepared(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = db.prepare(sql)));
  return statement;
}
