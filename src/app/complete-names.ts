/**
 * The names a shell completes for SERIAL|NAME (`revoke`, `renew`, `show`):
 * read from the CA home's database opened read-only, its schema untrusted
 * and not migrated (a completion changes nothing, asks nothing, and answers
 * from a database of any version pocketca made). No database, no names.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../store/database';
import { recordedNames } from '../store/certificates';

export function completionNames(homeDir: string): string[] {
  const path = join(homeDir, 'pocketca.db');
  if (!existsSync(path)) return [];
  const db = openDatabase(path, { create: false, readonly: true, migrate: false, trustedSchema: false });
  try {
    return [...recordedNames(db)];
  } finally {
    db.close();
  }
}
