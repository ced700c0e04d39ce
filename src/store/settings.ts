import type { Db } from './database';

export function getSetting(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setSetting(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** The WebSocket token key's derivation salt (src/app/proxy-config.ts); random, per home, not secret by itself. */
export const WEBSOCKET_SALT_SETTING = 'websocket_token_salt';
