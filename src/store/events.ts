import { prepared, type Db } from './database';

export type Outcome = 'ok' | 'refused' | 'failed';

export interface EventRecord {
  at: string;
  command: string;
  outcome: Outcome;
  serial?: string | null;
  name?: string | null;
  detail?: string | null;
}

export interface EventRow extends Required<EventRecord> {
  id: number;
}

export function recordEvent(db: Db, event: EventRecord): void {
  prepared(db, 'INSERT INTO events (at, command, outcome, serial, name, detail) VALUES (@at, @command, @outcome, @serial, @name, @detail)').run({
    serial: null,
    name: null,
    detail: null,
    ...event,
  });
}

export function listEvents(db: Db, since?: string): EventRow[] {
  return db
    .prepare(`SELECT id, at, command, outcome, serial, name, detail FROM events ${since ? 'WHERE at >= ?' : ''} ORDER BY id`)
    .all(...(since ? [since] : [])) as EventRow[];
}
